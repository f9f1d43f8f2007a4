using System.Diagnostics;
using System.Globalization;
using Heirloom.Postgres.Testing;

namespace Heirloom.ClusterDemo;

/// <summary>
/// The demo: a throwaway PostgreSQL (or the one HEIRLOOM_POSTGRES names), three node processes sharing the clustered
/// table "ledger", and a loop that kills the owning node with SIGKILL every few seconds and starts a new node in its
/// place. The live view shows who owns the table, the takeover times, and the acknowledged writes missing from
/// PostgreSQL, which stays 0.
/// </summary>
internal static class ClusterDemo
{
    public static async Task<int> RunAsync(string[] args, CancellationToken stopping)
    {
        if (args.Contains("--help"))
        {
            Console.WriteLine("dotnet run --project samples/Heirloom.ClusterDemo [-- --duration <s> --kill-every <s> --nodes <n>]");
            Console.WriteLine("Starts a throwaway PostgreSQL (or uses HEIRLOOM_POSTGRES), then n node processes sharing a clustered");
            Console.WriteLine("table, and kills the owner with SIGKILL every few seconds. Defaults: 30 s, 3 s, 3 nodes.");
            return 0;
        }

        var duration = TimeSpan.FromSeconds(Option(args, "--duration", 30));
        var killEvery = TimeSpan.FromSeconds(Option(args, "--kill-every", 3));
        var nodeCount = (int)Option(args, "--nodes", 3);
        if (nodeCount < 2 || duration <= TimeSpan.Zero || killEvery <= TimeSpan.Zero)
        {
            Console.Error.WriteLine("--nodes must be at least 2, --duration and --kill-every positive.");
            return 2;
        }

        ThrowawayPostgres? server = null;
        var connection = Environment.GetEnvironmentVariable("HEIRLOOM_POSTGRES");
        if (string.IsNullOrEmpty(connection))
        {
            Console.WriteLine("Starting a throwaway PostgreSQL...");
            server = await ThrowawayPostgres.StartAsync(stopping);
            connection = server.ConnectionString;
        }

        var schema = $"demo_{DateTime.UtcNow:HHmmss}";
        var nodes = new List<NodeProcess>();
        var retired = new List<NodeProcess>();
        var takeovers = new List<double>();
        var kills = 0;
        try
        {
            for (var i = 0; i < nodeCount; i++)
            {
                nodes.Add(await NodeProcess.StartAsync(connection, schema, $"node-{i + 1}"));
            }

            var clock = Stopwatch.StartNew();
            var nextKill = killEvery;
            while (clock.Elapsed < duration && !stopping.IsCancellationRequested)
            {
                Draw(nodes, kills, takeovers, clock.Elapsed, duration, missing: null);
                await Task.Delay(250, CancellationToken.None);
                if (clock.Elapsed < nextKill)
                {
                    continue;
                }

                nextKill = clock.Elapsed + killEvery;
                if (nodes.Where(n => n.OwnerSince > 0).OrderByDescending(n => n.OwnerSince).FirstOrDefault() is not { } owner)
                {
                    continue;
                }

                foreach (var other in nodes.Where(n => n != owner))
                {
                    other.ExpectOwnership();
                }

                var killedAt = Stopwatch.GetTimestamp();
                owner.Kill();
                kills++;
                nodes.Remove(owner);
                retired.Add(owner);
                var next = await Task.WhenAny(nodes.Select(n => n.BecameOwner)).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
                takeovers.Add(Stopwatch.GetElapsedTime(killedAt, await next).TotalMilliseconds);
                nodes.Add(await NodeProcess.StartAsync(connection, schema, $"node-{nodeCount + kills}"));
            }

            var acknowledged = nodes.Concat(retired).SelectMany(n => n.Acknowledged()).ToList();
            var committed = await LedgerCheck.CommittedKeysAsync(connection, schema);
            var missing = acknowledged.Count(k => !committed.Contains(k));
            Draw(nodes, kills, takeovers, duration, duration, missing);
            Console.WriteLine();
            Console.WriteLine($"{kills} owners killed with SIGKILL, {acknowledged.Count:N0} writes acknowledged, {missing} of them missing from PostgreSQL.");
            return missing == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var node in nodes.Concat(retired))
            {
                await node.DisposeAsync();
            }

            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static void Draw(List<NodeProcess> nodes, int kills, List<double> takeovers, TimeSpan elapsed, TimeSpan duration, int? missing)
    {
        var lines = new List<string>
        {
            $"Heirloom cluster demo: {nodes.Count} nodes on PostgreSQL, clustered table '{ClusterNode.Table}'   {elapsed.TotalSeconds,5:0.0} s of {duration.TotalSeconds:0} s",
            "",
        };
        foreach (var node in nodes)
        {
            var role = node.OwnerSince > 0 ? "OWNER  " : "standby";
            lines.Add($"  {node.NodeId,-10} pid {node.ProcessId,-7} {role}  acknowledged {node.AcknowledgedCount,9:N0}");
        }

        var sorted = takeovers.Order().ToList();
        lines.Add("");
        lines.Add($"  owners killed (SIGKILL) {kills,5}");
        lines.Add(sorted.Count == 0
            ? "  takeover                 -"
            : $"  takeover after kill      last {takeovers[^1],6:0} ms   p50 {Percentile(sorted, 0.5),6:0} ms   p99 {Percentile(sorted, 0.99),6:0} ms");
        lines.Add($"  acknowledged, missing    {(missing is { } m ? m.ToString(CultureInfo.InvariantCulture) : "checked at the end")}");
        if (!Console.IsOutputRedirected)
        {
            Console.Write("\u001b[H\u001b[2J");
        }

        Console.WriteLine(string.Join(Environment.NewLine, lines));
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
