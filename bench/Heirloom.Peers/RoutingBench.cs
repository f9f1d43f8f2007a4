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
/// <code>dotnet run -c Release --project bench/Heirloom.Peers -- routing [--seconds 10] [--callers 64] [--only Heirloom|Orleans]</code>
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
        var only = Array.IndexOf(args, "--only") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        Console.WriteLine($"Routed call round trip between two processes on loopback: {callers} concurrent callers, {seconds} s each (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        Console.WriteLine($"{"runtime",-10} {"p50 µs",10} {"p99 µs",10} {"calls/s",12}");
        if (only is null or "Heirloom")
        {
            Print("Heirloom", await MeasureHeirloomAsync(seconds, callers));
        }

        if (only is null or "Orleans")
        {
            Print("Orleans", await MeasureOrleansAsync(seconds, callers));
        }

        return 0;
    }

    private static int Option(string[] args, string name, int fallback) =>
        Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;

    private static void Print(string runtime, (double P50, double P99, double PerSecond) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runtime,-10} {result.P50,10:F0} {result.P99,10:F0} {result.PerSecond,12:N0}"));

    private static async Task<(double, double, double)> MeasureHeirloomAsync(int seconds, int callers)
    {
        await using var postgres = Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES") is { Length: > 0 } ? null : await ThrowawayPostgres.StartAsync();
        var connection = postgres?.ConnectionString ?? Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES")!;
        var schema = $"bench_{Environment.ProcessId}";
        using var owner = StartChild("routing-node", connection, schema);
        await using var node = new Node();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connection, Schema = schema, NodeId = "caller" });
        await using var router = await NodeRouter.StartAsync(cluster);
        await WaitForLineAsync(owner, "READY");
        return await MeasureAsync(seconds, callers, () => router.CallAsync<string>("bench", Request, TimeSpan.FromSeconds(30)));
    }

    private static async Task<(double, double, double)> MeasureOrleansAsync(int seconds, int callers)
    {
        using var silo = StartChild("routing-silo");
        await WaitForLineAsync(silo, "READY");
        using var host = new HostBuilder()
            .UseOrleans(builder => builder.UseLocalhostClustering(siloPort: 11112, gatewayPort: 30001, primarySiloEndpoint: new IPEndPoint(IPAddress.Loopback, 11111)))
            .Build();
        await host.StartAsync();
        var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IRoutedEchoGrain>(0);
        var result = await MeasureAsync(seconds, callers, () => grain.Echo(Request));
        await host.StopAsync();
        return result;
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
