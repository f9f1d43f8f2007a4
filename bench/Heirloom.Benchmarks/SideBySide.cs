using System.Diagnostics;
using System.Globalization;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>
/// Runs each measure on Erlang/OTP (bench/erlang/bench.escript, through escript) and on Heirloom in one run on
/// one machine, and prints both with their ratio and the goal. Usage: <c>compare [measure ...]</c>.
/// </summary>
internal static class SideBySide
{
    /// <summary>One line of the table. <paramref name="Measure"/> names the Erlang measure that produces it (one
    /// measure may produce several lines, such as a median and a p99 from the same samples).</summary>
    private sealed record Row(string Name, string Measure, string Unit, string Goal, Func<Task<double>> Heirloom, Func<double, double, bool> Meets);

    private static readonly Lazy<Task<(double Median, double P99)>> RestartLatency =
        new(() => WithNode(n => BehaviourWorkloads.RestartLatencyAsync(n, 2000)));

    private static readonly Row[] Rows =
    [
        new("ping_pong_round_trip", "ping_pong_round_trip", "ns", "<= 500 ns", () => WithNode(n => Measure.MedianAsync(200_000, ops => ProcessWorkloads.PingPongAsync(n, ops))), (h, _) => h <= 500),
        new("spawn_exit_reply", "spawn_exit_reply", "ns", "<= 1000 ns", () => WithNode(n => Measure.MedianAsync(100_000, ops => ProcessWorkloads.SpawnExitAsync(n, ops))), (h, _) => h <= 1000),
        new("spawn_monitor_down", "spawn_monitor_down", "ns", "<= 1000 ns", () => WithNode(n => Measure.MedianAsync(100_000, ops => ProcessWorkloads.SpawnMonitorDownAsync(n, ops))), (h, _) => h <= 1000),
        new("memory_per_idle_process", "memory_per_idle_process", "B", "<= 1024 B", () => ProcessWorkloads.MemoryPerIdleProcessAsync(100_000), (h, _) => h <= 1024),
        new("gen_server_call", "gen_server_call", "ns", ">= 2x faster", () => WithNode(n => Measure.MedianAsync(100_000, ops => BehaviourWorkloads.GenServerCallAsync(n, ops))), (h, e) => e / h >= 2),
        new("restart_latency_median", "restart_latency", "ns", ">= 2x faster", async () => (await RestartLatency.Value).Median, (h, e) => e / h >= 2),
        new("restart_latency_p99", "restart_latency", "ns", "(reported)", async () => (await RestartLatency.Value).P99, (_, _) => true),
    ];

    public static async Task<int> RunAsync(string[] only)
    {
        var rows = Rows.Where(r => only.Length == 0 || only.Contains(r.Name) || only.Contains(r.Measure)).ToArray();
        var erlang = RunErlang(rows.Select(r => r.Measure).Distinct());
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Erlang/OTP {ErlangVersion()}");
        Console.WriteLine();
        Console.WriteLine("| measure | Erlang/OTP | Heirloom | Erlang / Heirloom | goal | met |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var heirloom = await row.Heirloom();
            var theirs = erlang.GetValueOrDefault(row.Name, double.NaN);
            var ratio = theirs / heirloom;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Name} | {theirs:F1} {row.Unit} | {heirloom:F1} {row.Unit} | {ratio:F2}x | {row.Goal} | {(row.Meets(heirloom, theirs) ? "yes" : "no")} |"));
        }

        return 0;
    }

    private static async Task<T> WithNode<T>(Func<Node, Task<T>> measure)
    {
        await using var node = new Node();
        return await measure(node);
    }

    private static Dictionary<string, double> RunErlang(IEnumerable<string> names)
    {
        var script = Path.Combine(FindRepositoryRoot(), "bench", "erlang", "bench.escript");
        var start = new ProcessStartInfo("escript", [script, .. names]) { RedirectStandardOutput = true };
        using var erl = Process.Start(start) ?? throw new InvalidOperationException("Could not start escript; install Erlang/OTP (apt-get install -y erlang-nox).");
        var results = new Dictionary<string, double>();
        while (erl.StandardOutput.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            results[parts[0]] = double.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        erl.WaitForExit();
        return erl.ExitCode == 0 ? results : throw new InvalidOperationException($"escript {script} failed with exit code {erl.ExitCode}.");
    }

    private static string ErlangVersion()
    {
        var start = new ProcessStartInfo("erl", ["-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."]) { RedirectStandardOutput = true };
        using var erl = Process.Start(start)!;
        var version = erl.StandardOutput.ReadToEnd();
        erl.WaitForExit();
        return version;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Heirloom.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the comparison from inside the Heirloom repository.");
    }
}
