using System.Diagnostics;
using System.Globalization;
using System.Net;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Postgres.Testing;
using Heirloom.Processes;
using Heirloom.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Heirloom.Peers;

/// <summary>
/// Routed calls between two node processes on loopback, measured the same way for Heirloom and Orleans: this process
/// starts the serving side as a child process (Heirloom: a node owning the clustered table "bench", whose worker echoes;
/// Orleans: a silo where the echo grain is activated), joins as the calling side, and runs N concurrent callers for a
/// fixed time, each awaiting one call at a time. Printed: round-trip p50 and p99 (µs) and calls per second.
/// <code>dotnet run -c Release --project bench/Heirloom.Peers -- routing [--seconds 10] [--callers 64] [--rounds 3] [--only Heirloom|Orleans]</code>
/// PostgreSQL: HEIRLOOM_POSTGRES's server, or a throwaway one (PostgreSQL's programs installed).
/// </summary>
internal static class RoutingBench
{
    private const string Request = "ping";

    public static async Task<int> RunAsync(string[] args)
    {
        switch (args[0])
        {
            case "routing-node":
                await ServeHeirloomAsync(args[1], args[2]);
                return 0;
            case "routing-silo":
                await ServeOrleansAsync();
                return 0;
        }

        var seconds = Option(args, "--seconds", 10);
        var callers = Option(args, "--callers", 64);
        var rounds = Option(args, "--rounds", 3);
        var only = Array.IndexOf(args, "--only") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        Console.WriteLine($"Routed call round trip between two processes on loopback: {callers} concurrent callers, {seconds} s per runtime per round, {rounds} rounds, the runtimes' order alternating (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        var sides = new List<(string Name, Func<Task<(double, double, double)>> Measure, IAsyncDisposable Setup)>();
        try
        {
            if (only is null or "Heirloom")
            {
                var heirloom = await HeirloomSide.StartAsync();
                sides.Add(("Heirloom", () => MeasureAsync(seconds, callers, heirloom.CallAsync), heirloom));
            }

            if (only is null or "Orleans")
            {
                var orleans = await OrleansSide.StartAsync();
                sides.Add(("Orleans", () => MeasureAsync(seconds, callers, orleans.CallAsync), orleans));
            }

            var results = sides.ToDictionary(s => s.Name, _ => new List<(double P50, double P99, double PerSecond)>());
            Console.WriteLine($"{"round",-6} {"runtime",-10} {"p50 µs",10} {"p99 µs",10} {"calls/s",12}");
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < sides.Count; i++)
                {
                    var side = sides[(round + i) % sides.Count];
                    var result = await side.Measure();
                    results[side.Name].Add(result);
                    Print($"{round + 1}", side.Name, result);
                }
            }

            Console.WriteLine();
            Console.WriteLine($"Medians over the rounds, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the end:");
            foreach (var (name, list) in results)
            {
                Print("median", name, (Median(list.Select(r => r.P50)), Median(list.Select(r => r.P99)), Median(list.Select(r => r.PerSecond))));
            }

            if (results.Count == 2)
            {
                var h = results["Heirloom"];
                var o = results["Orleans"];
                var p50 = Median(h.Zip(o, (a, b) => b.P50 / a.P50));
                var p99 = Median(h.Zip(o, (a, b) => b.P99 / a.P99));
                var rate = Median(h.Zip(o, (a, b) => a.PerSecond / b.PerSecond));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Heirloom vs Orleans, median of the rounds' ratios (above 1: Heirloom ahead): p50 {p50:F2}x, p99 {p99:F2}x, calls/s {rate:F2}x"));
            }
        }
        finally
        {
            foreach (var side in sides)
            {
                await side.Setup.DisposeAsync();
            }
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Print(string round, string runtime, (double P50, double P99, double PerSecond) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{round,-6} {runtime,-10} {result.P50,10:F0} {result.P99,10:F0} {result.PerSecond,12:N0}"));

    /// <summary>The calling side of Heirloom: a throwaway PostgreSQL (or HEIRLOOM_POSTGRES's), the owning node as a
    /// child process, and this process's node, cluster and router.</summary>
    private sealed class HeirloomSide : IAsyncDisposable
    {
        private ThrowawayPostgres? _postgres;
        private Process? _owner;
        private Node? _node;
        private PostgresCluster? _cluster;
        private NodeRouter? _router;

        public static async Task<HeirloomSide> StartAsync()
        {
            var side = new HeirloomSide();
            try
            {
                side._postgres = Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES") is { Length: > 0 } ? null : await ThrowawayPostgres.StartAsync();
                var connection = side._postgres?.ConnectionString ?? Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES")!;
                var schema = $"bench_{Environment.ProcessId}";
                side._owner = StartChild("routing-node", connection, schema);
                side._node = new Node();
                side._cluster = await PostgresCluster.StartAsync(side._node, new PostgresClusterOptions { ConnectionString = connection, Schema = schema, NodeId = "caller" });
                side._router = await NodeRouter.StartAsync(side._cluster);
                await WaitForLineAsync(side._owner, "READY");
                return side;
            }
            catch
            {
                await side.DisposeAsync();
                throw;
            }
        }

        public Task<string> CallAsync() => _router!.CallAsync<string>("bench", Request, TimeSpan.FromSeconds(30));

        public async ValueTask DisposeAsync()
        {
            if (_router is not null)
            {
                await _router.DisposeAsync();
            }

            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }

            if (_node is not null)
            {
                await _node.DisposeAsync();
            }

            _owner?.Kill();
            _owner?.Dispose();
            if (_postgres is not null)
            {
                await _postgres.DisposeAsync();
            }
        }
    }

    /// <summary>The calling side of Orleans: the serving silo as a child process, and this process's silo.</summary>
    private sealed class OrleansSide : IAsyncDisposable
    {
        private Process? _silo;
        private IHost? _host;
        private IRoutedEchoGrain? _grain;

        public static async Task<OrleansSide> StartAsync()
        {
            var side = new OrleansSide();
            try
            {
                side._silo = StartChild("routing-silo");
                await WaitForLineAsync(side._silo, "READY");
                side._host = new HostBuilder()
                    .UseOrleans(builder => builder.UseLocalhostClustering(siloPort: 11112, gatewayPort: 30001, primarySiloEndpoint: new IPEndPoint(IPAddress.Loopback, 11111)))
                    .Build();
                await side._host.StartAsync();
                side._grain = side._host.Services.GetRequiredService<IGrainFactory>().GetGrain<IRoutedEchoGrain>(0);
                return side;
            }
            catch
            {
                await side.DisposeAsync();
                throw;
            }
        }

        public Task<string> CallAsync() => _grain!.Echo(Request);

        public async ValueTask DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.StopAsync();
                _host.Dispose();
            }

            _silo?.Kill();
            _silo?.Dispose();
        }
    }

    /// <summary>Warms up for a second, then runs <paramref name="callers"/> loops for <paramref name="seconds"/>,
    /// timing every call.</summary>
    private static async Task<(double P50, double P99, double PerSecond)> MeasureAsync(int seconds, int callers, Func<Task<string>> call)
    {
        await RunLoopsAsync(TimeSpan.FromSeconds(1), callers, call);
        var (latencies, elapsed) = await RunLoopsAsync(TimeSpan.FromSeconds(seconds), callers, call);
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return (Percentile(all, 0.50), Percentile(all, 0.99), all.Length / elapsed.TotalSeconds);
    }

    private static async Task<(List<double>[] Latencies, TimeSpan Elapsed)> RunLoopsAsync(TimeSpan duration, int callers, Func<Task<string>> call)
    {
        var latencies = Enumerable.Range(0, callers).Select(_ => new List<double>(100_000)).ToArray();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(latencies.Select(own => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var before = Stopwatch.GetTimestamp();
                var reply = await call();
                own.Add(Stopwatch.GetElapsedTime(before).TotalMicroseconds);
                Timing.Check(reply == Request, $"the echo replied {reply}");
            }
        })));
        return (latencies, Stopwatch.GetElapsedTime(start));
    }

    private static double Percentile(double[] sorted, double at) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * at))];

    /// <summary>The serving node: owns the clustered table "bench" (the only node serving it), its worker echoes.</summary>
    private static async Task ServeHeirloomAsync(string connection, string schema)
    {
        await using var node = new Node();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connection, Schema = schema, NodeId = "owner" });
        await using var router = await NodeRouter.StartAsync(cluster);
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                ChildSpec.ForGenServer("echo", () => new RoutingEchoWorker(), new GenServerOptions { Name = "echo" }),
                ClusteredTable.ChildSpec<long, long>(cluster, new ClusteredTableOptions { Name = "bench", ManagerName = "manager", WorkerName = "echo" }),
            ],
        });
        while (!cluster.Owns("bench"))
        {
            await Task.Delay(10);
        }

        Console.WriteLine("READY");
        await Console.In.ReadLineAsync();   // until the parent closes stdin (or dies)
    }

    /// <summary>The serving silo: the primary of localhost clustering, with the echo grain activated here.</summary>
    private static async Task ServeOrleansAsync()
    {
        using var host = new HostBuilder()
            .UseOrleans(builder => builder.UseLocalhostClustering(siloPort: 11111, gatewayPort: 30000))
            .Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<IGrainFactory>().GetGrain<IRoutedEchoGrain>(0).Echo(Request);
        Console.WriteLine("READY");
        await Console.In.ReadLineAsync();
        await host.StopAsync();
    }

    private static Process StartChild(params string[] args)
    {
        var start = new ProcessStartInfo { FileName = "dotnet", RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(RoutingBench).Assembly.Location);
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static async Task WaitForLineAsync(Process child, string line)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (await child.StandardOutput.ReadLineAsync(timeout.Token) is { } read)
        {
            if (read == line)
            {
                return;
            }
        }

        throw new InvalidOperationException($"The child process exited before it said {line}.");
    }
}
