using System.Diagnostics;
using Heirloom.Persistence;
using Xunit.Abstractions;

namespace Heirloom.Postgres.Tests;

/// <summary>
/// A rolling restart under writes: three node processes serving 300 clustered tables, each stopped gracefully (SIGTERM)
/// in turn and replaced by a new one while writes go to every table through its owner. Every table moves by planned
/// hand-offs only (nothing is fenced), no acknowledged write is lost, and each hand-off's pause (from the table taking
/// no more writes on its old owner to its worker having it on the new one) is measured.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class RollingRestartTests(PostgresServer server, ITestOutputHelper output)
{
    private const int Tables = 300;

    // Writes a second, over all tables: each table gets a write every second or so, and the nodes' commits (each table
    // commits on its own, through a pool of two connections) keep up.
    private const int WritesPerSecond = 100;
    private const long MinimumWrites = 1_500;
    private static readonly TimeSpan BalanceBound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_rolling_restart_of_three_nodes_under_writes_hands_every_table_off_and_loses_no_acknowledged_write()
    {
        var schema = PostgresServer.NewSchema();
        var nodes = new List<TablesNodeProcess>();
        var gone = new List<TablesNodeProcess>();
        using var stop = new CancellationTokenSource();
        Task? writing = null;
        try
        {
            foreach (var id in (string[])["a", "b", "c"])
            {
                nodes.Add(await TablesNodeProcess.StartAsync(server.ConnectionString, schema, $"{schema}-{id}", Tables));
            }

            await UntilBalancedAsync(nodes, schema);
            var written = 0L;
            writing = WriteAsync(() => [.. nodes], () => written++, stop.Token);
            foreach (var id in (string[])["d", "e", "f"])
            {
                await Task.Delay(500);
                var leaving = nodes[0];
                var stopping = Stopwatch.StartNew();
                await leaving.StopAsync(TimeSpan.FromSeconds(60));
                output.WriteLine($"{leaving.NodeId} stopped gracefully in {stopping.Elapsed.TotalSeconds:0.0} s");
                nodes.Remove(leaving);
                gone.Add(leaving);
                nodes.Add(await TablesNodeProcess.StartAsync(server.ConnectionString, schema, $"{schema}-{id}", Tables));
                await UntilBalancedAsync(nodes, schema);
                output.WriteLine($"{id} started and the cluster balanced again: {Counts(nodes)}");
            }

            // Writing goes on, on the settled cluster, until enough writes were asked to count on, however fast the
            // restarts went (a machine quicker at starting nodes asks fewer during them).
            var settled = Stopwatch.StartNew();
            while (Volatile.Read(ref written) < MinimumWrites && settled.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(50);
            }

            await stop.CancelAsync();
            await writing;
            await Task.Delay(TimeSpan.FromSeconds(6));    // every write asked is answered (5 s timeout) before counting

            var all = nodes.Concat(gone).ToList();
            var acknowledged = all.SelectMany(n => n.Acknowledged()).ToList();
            var committed = await CommittedAsync(schema);
            var missing = acknowledged.Where(a => !committed.Contains(a)).Take(5).ToList();

            // Each hand-off's pause: from the table taking no more writes on its old owner to a worker having it again
            // (on another node, or on the same one when the node it was handed to did not take it).
            var got = all.SelectMany(n => n.Got().Select(g => (n, g.Table, g.At))).ToList();
            var pauses = new List<double>();
            var slowest = new List<(double Ms, string Table)>();
            var unmatched = 0;
            foreach (var node in all)
            {
                foreach (var (table, at) in node.Sealed())
                {
                    var next = got.Where(g => g.Table == table && g.At >= at).Select(g => (long?)g.At).Min();
                    if (next is { } taken)
                    {
                        pauses.Add(Stopwatch.GetElapsedTime(at, taken).TotalMilliseconds);
                        slowest.Add((pauses[^1], table));
                    }
                    else
                    {
                        unmatched++;
                    }
                }
            }

            pauses.Sort();
            var fencings = all.Sum(n => n.Log().Count(l => l.Contains("no longer owns clustered table", StringComparison.Ordinal)));
            var summary = $"{written:N0} writes asked, {acknowledged.Count:N0} acknowledged, {missing.Count} acknowledged missing; {pauses.Count} hand-offs, " +
                $"pause p50 {Percentile(pauses, 0.50):0.0} ms, p99 {Percentile(pauses, 0.99):0.0} ms, max {pauses[^1]:0.0} ms; {unmatched} hand-offs never taken; {fencings} fencings";
            output.WriteLine(summary);
            foreach (var (ms, table) in slowest.OrderByDescending(p => p.Ms).Take(3))
            {
                output.WriteLine($"a pause of {ms:0} ms, {table}: {string.Join(" | ", all.SelectMany(n => n.History(table).Concat(n.Log().Where(l => l.Contains(table, StringComparison.Ordinal)))).Order())}");
            }

            Assert.True(acknowledged.Count > 1000, summary);
            Assert.True(missing.Count == 0, $"acknowledged but not committed: {string.Join(", ", missing)}");
            Assert.Equal(0, fencings);
            Assert.Equal(0, unmatched);
            Assert.True(pauses.Count >= Tables, summary);      // every table moved at least once

            // Not asserted, and known to fall short: the goal is a pause p99 of 50 ms. On a 2-core machine running the
            // three nodes, PostgreSQL and the writer, a process's first hand-offs and takeovers are the slowest, and
            // the others miss it too (docs/benchmarks.md, "Rolling restart": p50 25-41 ms, p99 157-314 ms in the last
            // runs recorded). The summary and the slowest hand-offs are printed.
        }
        finally
        {
            await stop.CancelAsync();
            if (writing is not null)
            {
                await writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            }

            foreach (var node in nodes.Concat(gone))
            {
                await node.DisposeAsync();
                foreach (var line in node.Log().TakeLast(10))
                {
                    output.WriteLine($"{node.NodeId}: {line}");
                }
            }
        }
    }

    /// <summary>Writes new keys to every table in turn, each through the node whose worker has the table now (a table
    /// that no node has this instant is skipped this turn), at <see cref="WritesPerSecond"/> in all.</summary>
    private static Task WriteAsync(Func<List<TablesNodeProcess>> nodes, Action counted, CancellationToken stop) => Task.Run(async () =>
    {
        var key = 0L;
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            var current = nodes();
            var owners = current.Where(n => !n.HasExited).SelectMany(n => n.Owned.Select(t => (Table: t, Node: n))).ToList();
            foreach (var (table, node) in owners)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    node.Write(table, ++key);
                    counted();
                }
                catch (IOException)
                {
                    // The node's input closed as it stopped: the write was never asked.
                }

                while (key > clock.Elapsed.TotalSeconds * WritesPerSecond && !stop.IsCancellationRequested)
                {
                    await Task.Delay(5, CancellationToken.None);
                }
            }

            await Task.Delay(1, CancellationToken.None);
        }
    });

    private async Task<HashSet<(string Table, long Key)>> CommittedAsync(string schema)
    {
        await using var source = Npgsql.NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand($"SELECT table_name, key FROM {schema}.rows WHERE state IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync();
        var codec = Codecs.For<long>();
        var committed = new HashSet<(string, long)>();
        while (await reader.ReadAsync())
        {
            committed.Add((reader.GetString(0), codec.Read(reader.GetFieldValue<byte[]>(1))));
        }

        return committed;
    }

    private static string Counts(List<TablesNodeProcess> nodes) => string.Join(", ", nodes.Select(n => $"{n.NodeId}: {n.Owned.Count}"));

    /// <summary>The tables no node's worker has, as PostgreSQL records them: what to look at when balancing is stuck.</summary>
    private static async Task<string> UnownedAsync(List<TablesNodeProcess> nodes, string connectionString, string schema)
    {
        var owned = nodes.SelectMany(n => n.Owned).ToHashSet();
        var unowned = Enumerable.Range(0, Tables).Select(i => $"t{i:0000}").Where(t => !owned.Contains(t)).Take(10).ToArray();
        await using var source = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand(
            "SELECT string_agg(format('%s epoch %s owner %s handoff %s until %s owner-locks %s', t.name, t.epoch, t.owner_node, t.handoff_to, t.handoff_until, " +
            $"(SELECT count(*) FROM pg_locks l WHERE l.pid = t.owner_backend AND l.locktype = 'advisory')), '; ') FROM {schema}.tables t WHERE t.name = ANY($1)");
        command.Parameters.Add(new() { Value = unowned });
        var history = unowned.Select(t => string.Join(" | ", nodes.SelectMany(n => n.History(t).Concat(n.Log().Where(l => l.Contains(t, StringComparison.Ordinal)))).Order()));
        return $"unowned as the workers say: {await command.ExecuteScalarAsync()}; history: {string.Join(" ;; ", history)}";
    }

    private async Task UntilBalancedAsync(List<TablesNodeProcess> nodes, string schema)
    {
        var floor = (Tables / nodes.Count) - 1;
        var ceiling = ((Tables + nodes.Count - 1) / nodes.Count) + 1;
        var waited = Stopwatch.StartNew();
        while (!(nodes.SelectMany(n => n.Owned).Distinct().Count() == Tables && nodes.All(n => n.Owned.Count >= floor && n.Owned.Count <= ceiling)))
        {
            if (waited.Elapsed >= BalanceBound)
            {
                Assert.Fail($"not balanced within {BalanceBound.TotalSeconds} s: {Counts(nodes)}; {await UnownedAsync(nodes, server.ConnectionString, schema)}");
            }

            await Task.Delay(20);
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
