using System.Diagnostics;
using Heirloom.Postgres.Testing;
using Xunit.Abstractions;

namespace Heirloom.Postgres.Tests;

/// <summary>
/// A thousand clustered tables on three node processes and a PostgreSQL that accepts 100 connections: every table owned,
/// at most 4 connections per node, each node at its fair share within 10 s of the third joining; the node owning the
/// most killed with SIGKILL, each of its tables owned again (the time to each printed, p99 checked), and the balance
/// restored within 10 s of a replacement starting.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ThousandTablesTests(ITestOutputHelper output)
{
    private const int Tables = 1000;
    private const int MaxConnectionsPerNode = 4;
    private static readonly TimeSpan BalanceBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Three_node_processes_with_1000_tables_on_100_connections_balance_and_take_over_a_killed_nodes_tables()
    {
        await using var server = await ThrowawayPostgres.StartAsync(maxConnections: 100);
        await using var observer = Npgsql.NpgsqlDataSource.Create(new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { MaxPoolSize = 1 }.ConnectionString);
        var schema = PostgresServer.NewSchema();
        var nodes = new List<TablesNodeProcess>();
        var gone = new List<TablesNodeProcess>();
        var peak = new Dictionary<string, long>(StringComparer.Ordinal);
        using var sampling = new CancellationTokenSource();
        var sampler = SampleConnectionsAsync(observer, schema, peak, sampling.Token);
        try
        {
            var clock = Stopwatch.StartNew();
            foreach (var id in (string[])["a", "b", "c"])
            {
                nodes.Add(await TablesNodeProcess.StartAsync(server.ConnectionString, schema, $"{schema}-{id}", Tables));
                output.WriteLine($"{id} ready at {clock.Elapsed.TotalSeconds:0.0} s");
            }

            var joined = Stopwatch.GetTimestamp();
            await UntilAsync(() => nodes.SelectMany(n => n.Owned).Distinct().Count() == Tables, TimeSpan.FromSeconds(60) - clock.Elapsed, "every table owned");
            output.WriteLine($"every table owned {clock.Elapsed.TotalSeconds:0.0} s after the first node started");

            await UntilBalancedAsync(nodes, "after the third node joined");
            output.WriteLine($"balanced {Stopwatch.GetElapsedTime(joined).TotalSeconds:0.0} s after the third node joined: {Counts(nodes)}");

            // SIGKILL of the node owning the most: each of its tables is owned again by a survivor.
            var victim = nodes.MaxBy(n => n.Owned.Count)!;
            var orphans = victim.Owned;
            var survivors = nodes.Where(n => n != victim).ToList();
            var killedAt = Stopwatch.GetTimestamp();
            victim.Kill();
            nodes.Remove(victim);
            gone.Add(victim);
            await UntilAsync(() => orphans.All(t => survivors.Any(s => s.GotAt(t) > killedAt)), TimeSpan.FromSeconds(30), "every table of the killed node owned again");
            var takeovers = orphans.Select(t => Stopwatch.GetElapsedTime(killedAt, survivors.Max(s => s.GotAt(t) ?? 0)).TotalMilliseconds).Order().ToList();
            var summary = $"{orphans.Count} tables of the killed node owned again: p50 {Percentile(takeovers, 0.50):0} ms, p99 {Percentile(takeovers, 0.99):0} ms, max {takeovers[^1]:0} ms";
            output.WriteLine(summary);

            var replacedAt = Stopwatch.GetTimestamp();
            nodes.Add(await TablesNodeProcess.StartAsync(server.ConnectionString, schema, $"{schema}-d", Tables));
            var ready = Stopwatch.GetTimestamp();
            await UntilBalancedAsync(nodes, "after the replacement started");
            output.WriteLine($"balanced {Stopwatch.GetElapsedTime(ready).TotalSeconds:0.0} s after the replacement was ready ({Stopwatch.GetElapsedTime(replacedAt).TotalSeconds:0.0} s after it was started): {Counts(nodes)}");

            await sampling.CancelAsync();
            await sampler;
            output.WriteLine($"peak connections per node (pg_stat_activity): {string.Join(", ", peak.Select(p => $"{p.Key}: {p.Value}"))}; total runtime {clock.Elapsed.TotalSeconds:0} s");

            // Idle: three nodes, 1,000 tables, nobody writing, nobody sampling.
            var idle = await ServerCpu.CoreShareAsync(server.DataDirectory, TimeSpan.FromSeconds(10));
            output.WriteLine($"PostgreSQL's CPU while the cluster is idle: {idle:P1} of a core");
            Assert.Equal(4, peak.Count);
            Assert.All(peak, p => Assert.InRange(p.Value, 2L, MaxConnectionsPerNode));
            Assert.True(Percentile(takeovers, 0.99) <= 1000, summary);

            // The goal is 5% of a core on a quiet machine (docs/benchmarks.md); this bound catches a return of per-table
            // polling, which costs about 20% of a core here, on a loaded machine.
            Assert.True(idle <= 0.30, $"PostgreSQL spent {idle:P1} of a core while the cluster was idle");
        }
        finally
        {
            await sampling.CancelAsync();
            foreach (var node in nodes.Concat(gone))
            {
                await node.DisposeAsync();
            }

            foreach (var node in nodes.Concat(gone))
            {
                foreach (var line in node.Log().TakeLast(20))
                {
                    output.WriteLine($"{node.NodeId}: {line}");
                }
            }
        }
    }

    private static string Counts(List<TablesNodeProcess> nodes) => string.Join(", ", nodes.Select(n => $"{n.NodeId}: {n.Owned.Count}"));

    /// <summary>Waits, at most <see cref="BalanceBound"/>, until every table is owned and each node owns the floor or
    /// ceiling of its share, plus or minus one.</summary>
    private static Task UntilBalancedAsync(List<TablesNodeProcess> nodes, string when)
    {
        var floor = (Tables / nodes.Count) - 1;
        var ceiling = ((Tables + nodes.Count - 1) / nodes.Count) + 1;
        return UntilAsync(
            () => nodes.SelectMany(n => n.Owned).Distinct().Count() == Tables && nodes.All(n => n.Owned.Count >= floor && n.Owned.Count <= ceiling),
            BalanceBound,
            $"balanced {when} ({floor}..{ceiling} each): {Counts(nodes)}");
    }

    private static async Task UntilAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < within, $"not within {within.TotalSeconds:0.0} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Every 50 ms, each node's connections in pg_stat_activity (named "heirloom:NODE/ROLE"); keeps each node's
    /// highest count.</summary>
    private static async Task SampleConnectionsAsync(Npgsql.NpgsqlDataSource observer, string schema, Dictionary<string, long> peak, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await using (var command = observer.CreateCommand(
                    "SELECT split_part(application_name, '/', 1), count(*) FROM pg_stat_activity WHERE application_name LIKE $1 GROUP BY 1"))
                {
                    command.Parameters.Add(new() { Value = $"heirloom:{schema}-%" });
                    await using var reader = await command.ExecuteReaderAsync(stop);
                    while (await reader.ReadAsync(stop))
                    {
                        var node = reader.GetString(0);
                        lock (peak)
                        {
                            peak[node] = Math.Max(peak.GetValueOrDefault(node), reader.GetInt64(1));
                        }
                    }
                }

                await Task.Delay(50, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
