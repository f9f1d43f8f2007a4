using System.Diagnostics;
using Heirloom.Behaviours;
using Xunit.Abstractions;

namespace Heirloom.Postgres.Tests;

/// <summary>Many clustered tables on several nodes: each node keeps a fixed, small number of PostgreSQL connections
/// whatever the number of its tables, every table is owned by exactly one node, and when the owner leaves, every table
/// is owned again, with its acknowledged writes.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ManyTablesTests(PostgresServer server, ITestOutputHelper output) : IAsyncDisposable
{
    private const int Tables = 200;
    private const int MaxConnectionsPerNode = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Npgsql.NpgsqlDataSource _observer = Npgsql.NpgsqlDataSource.Create(server.ConnectionString);

    public ValueTask DisposeAsync() => _observer.DisposeAsync();

    [Fact]
    public async Task Three_nodes_with_200_tables_hold_at_most_4_connections_each_and_every_table_is_owned_again_after_its_owner_leaves()
    {
        var schema = PostgresServer.NewSchema();
        var nodes = new List<ManyTablesNode>();
        var peak = new Dictionary<string, long>();
        try
        {
            foreach (var id in (string[])["a", "b", "c"])
            {
                nodes.Add(await ManyTablesNode.StartAsync(server.ConnectionString, schema, $"{schema}-{id}", Tables));
                await SampleConnectionsAsync(schema, peak);
            }

            var started = Stopwatch.StartNew();
            var owners = await UntilEveryTableIsOwnedOnceAsync(nodes, Tables, strict: true);
            output.WriteLine($"{Tables} tables owned, by {string.Join(", ", owners.GroupBy(o => o.Value.NodeId).Select(g => $"{g.Key}: {g.Count()}"))}, {started.ElapsedMilliseconds} ms after the last node started");

            // Balanced by planned hand-offs: each node owns its share (66 or 67) within 10 s, and at no moment two nodes
            // serve one table (strict).
            owners = await UntilBalancedAsync(nodes, Tables, TimeSpan.FromSeconds(10));
            output.WriteLine($"balanced {started.ElapsedMilliseconds} ms after the last node started: {string.Join(", ", owners.GroupBy(o => o.Value.NodeId).Select(g => $"{g.Key}: {g.Count()}"))}");

            // A write to every table at once, through its owner's worker: the commits share the owner's pool.
            var sampling = SampleWhileAsync(schema, peak, Task.WhenAll(owners.Select(o =>
                GenServer.CallAsync<long>(o.Value.Node, $"w{int.Parse(o.Key[1..], System.Globalization.CultureInfo.InvariantCulture)}", 1L).AsTask())));
            await sampling;
            Assert.Equal((long)Tables, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE state IS NOT NULL"));

            // The node owning the most tables leaves; the others take every one of them, with its write.
            var leaving = owners.Values.GroupBy(n => n).MaxBy(g => g.Count())!.Key;
            var leftAt = Stopwatch.GetTimestamp();
            await leaving.DisposeAsync();
            nodes.Remove(leaving);
            var after = await UntilEveryTableIsOwnedOnceAsync(nodes, Tables, strict: true);
            output.WriteLine($"every table owned again {Stopwatch.GetElapsedTime(leftAt).TotalMilliseconds:0} ms after {leaving.NodeId}, which owned {owners.Values.Count(n => n == leaving)}, left");
            after = await UntilBalancedAsync(nodes, Tables, TimeSpan.FromSeconds(10));
            output.WriteLine($"balanced again {Stopwatch.GetElapsedTime(leftAt).TotalMilliseconds:0} ms after it left: {string.Join(", ", after.GroupBy(o => o.Value.NodeId).Select(g => $"{g.Key}: {g.Count()}"))}");

            // Moves and the graceful stop were hand-offs, never fencings.
            foreach (var node in nodes)
            {
                var statuses = await Task.WhenAll(node.Servers.Values.Select(ClusteredTable.GetStatusAsync));
                Assert.Equal(0, statuses.Sum(s => s.Fencings));
            }

            foreach (var (table, owner) in after)
            {
                Assert.Equal(1L, await GenServer.CallAsync<long>(owner.Node, $"w{int.Parse(table[1..], System.Globalization.CultureInfo.InvariantCulture)}", "count"));
            }

            await SampleConnectionsAsync(schema, peak);
            output.WriteLine($"peak connections per node (pg_stat_activity): {string.Join(", ", peak.Select(p => $"{p.Key}: {p.Value}"))}");
            Assert.Equal(3, peak.Count);
            Assert.All(peak, p => Assert.InRange(p.Value, 2L, MaxConnectionsPerNode));    // a lock session and a listener at least

            // What each node serves, as its heartbeat records it, is what it owns.
            var members = await nodes[0].Cluster.GetMembersAsync();
            await UntilAsync(async () =>
            {
                members = await nodes[0].Cluster.GetMembersAsync();
                return nodes.All(n => members.Single(m => m.NodeId == n.NodeId).Serving.Order().SequenceEqual(after.Where(a => a.Value == n).Select(a => a.Key).Order()));
            });
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Nodes_whose_lock_session_ends_lose_all_their_tables_go_back_to_standby_and_every_table_is_owned_again()
    {
        const int tables = 50;
        var schema = PostgresServer.NewSchema();
        var nodes = new List<ManyTablesNode>();
        var peak = new Dictionary<string, long>();
        try
        {
            foreach (var id in (string[])["a", "b", "c"])
            {
                nodes.Add(await ManyTablesNode.StartAsync(server.ConnectionString, schema, $"{schema}-{id}", tables));
            }

            // Each round starts from a settled cluster (every node at its share, so balancing moves nothing), so that the
            // tables the victim owns when its session ends are the ones counted.
            var workers = nodes.Select(n => Enumerable.Range(0, tables).Select(i => n.Node.WhereIs($"w{i}")).ToArray()).ToList();
            var owners = await UntilSettledAsync(nodes, tables);
            var fenced = 0;
            for (var round = 0; round < 6; round++)
            {
                // Ending the owner's lock session (as a server restart or a network cut would) releases all its locks at
                // once: every one of its tables is fenced there, and taken again by some node at a newer epoch.
                // The tables it loses are read from the tables' rows just before: a planned move may still have ended
                // after the cluster looked settled, and the servers' owners were read before that.
                var victim = owners.Values.GroupBy(n => n).MaxBy(g => g.Count())!.Key;
                var lost = await EpochsAsync(schema, ownedBySession: $"heirloom:{victim.NodeId}/locks");
                fenced += lost.Count;
                Assert.Equal(1L, await server.ScalarAsync<long>(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", $"heirloom:{victim.NodeId}/locks"));
                await UntilAsync(async () =>
                {
                    var now = await EpochsAsync(schema);
                    return lost.All(t => now[t.Key] > t.Value);
                });

                // Settled, and every table's recorded owner a session that exists: a node that has not yet noticed that
                // its session ended still calls itself the owner of a table nobody took again yet.
                await UntilAsync(async () =>
                {
                    owners = await UntilSettledAsync(nodes, tables);
                    return await server.ScalarAsync<long>(
                        $"SELECT count(*) FROM {schema}.tables t WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = t.owner_backend)") == 0;
                });
                await SampleConnectionsAsync(schema, peak);

                // Every table takes a write through its owner's worker.
                await Task.WhenAll(owners.Select(o => GenServer.CallAsync<long>(o.Value.Node, $"w{int.Parse(o.Key[1..], System.Globalization.CultureInfo.InvariantCulture)}", (long)round).AsTask()));
            }

            var fencings = 0;
            foreach (var node in nodes)
            {
                fencings += (await Task.WhenAll(node.Servers.Values.Select(ClusteredTable.GetStatusAsync))).Sum(s => s.Fencings);
            }

            output.WriteLine($"{fencings} fencings of {tables} tables in 6 lock sessions ended; peak connections per node: {string.Join(", ", peak.Select(p => $"{p.Key}: {p.Value}"))}");
            Assert.Equal(fenced, fencings);
            Assert.All(nodes, n => Assert.True(n.Supervisor.IsAlive, $"{n.NodeId}'s supervisor gave up"));
            Assert.Equal(workers, nodes.Select(n => Enumerable.Range(0, tables).Select(i => n.Node.WhereIs($"w{i}")).ToArray()).ToList());   // none restarted
            Assert.All(peak, p => Assert.InRange(p.Value, 2L, MaxConnectionsPerNode));
            Assert.Equal(6L * tables, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE state IS NOT NULL"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>Each table's epoch; with <paramref name="ownedBySession"/>, only the tables whose recorded owner is the
    /// session of that application name.</summary>
    private async Task<Dictionary<string, long>> EpochsAsync(string schema, string? ownedBySession = null)
    {
        await using var command = _observer.CreateCommand(ownedBySession is null
            ? $"SELECT name, epoch FROM {schema}.tables"
            : $"SELECT name, epoch FROM {schema}.tables WHERE owner_backend IN (SELECT pid FROM pg_stat_activity WHERE application_name = $1)");
        if (ownedBySession is not null)
        {
            command.Parameters.Add(new() { Value = ownedBySession });
        }

        await using var reader = await command.ExecuteReaderAsync();
        var epochs = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            epochs[reader.GetString(0)] = reader.GetInt64(1);
        }

        return epochs;
    }

    /// <summary>Waits until every table is owned by exactly one node (as its server says), and returns the owners. A
    /// node whose lock session was ended may still say it owns its tables until it notices (at its next renewal), so
    /// two owners of a table are waited out then; with <paramref name="strict"/> (no node was cut off), they fail the
    /// test.</summary>
    private static async Task<Dictionary<string, ManyTablesNode>> UntilEveryTableIsOwnedOnceAsync(List<ManyTablesNode> nodes, int tables, bool strict = false)
    {
        Dictionary<string, ManyTablesNode> owners = [];
        await UntilAsync(async () =>
        {
            var owned = await Task.WhenAll(nodes.Select(async n => (Node: n, Tables: await n.OwnedAsync())));
            var all = owned.SelectMany(o => o.Tables.Select(t => (Table: t, o.Node))).ToList();
            if (all.Count != all.Select(a => a.Table).Distinct().Count())
            {
                Assert.False(strict, "a table was owned by two nodes at once");
                return false;
            }

            owners = all.ToDictionary(a => a.Table, a => a.Node);
            return owners.Count == tables;
        });
        return owners;
    }

    /// <summary>A planned move counts as under way until the node that took the table says so, not until the release:
    /// with one move at a time and a hand-off timeout far longer than a takeover, a joining node gets its share at the
    /// pace it takes tables over. Were the taking node's notice lost, each move would wait out the timeout (30 s).</summary>
    [Fact]
    public async Task Moves_one_at_a_time_go_at_the_pace_of_the_successors_takeovers()
    {
        const int tables = 12;
        var schema = PostgresServer.NewSchema();
        static PostgresClusterOptions OneAtATime(PostgresClusterOptions options) => options with { MaxHandOffsInFlight = 1, HandOffTimeout = TimeSpan.FromSeconds(30) };
        var nodes = new List<ManyTablesNode>();
        try
        {
            nodes.Add(await ManyTablesNode.StartAsync(server.ConnectionString, schema, $"{schema}-a", tables, OneAtATime));
            await UntilEveryTableIsOwnedOnceAsync(nodes, tables, strict: true);
            nodes.Add(await ManyTablesNode.StartAsync(server.ConnectionString, schema, $"{schema}-b", tables, OneAtATime));
            var joined = Stopwatch.StartNew();
            var owners = await UntilBalancedAsync(nodes, tables, TimeSpan.FromSeconds(20));
            output.WriteLine($"six tables moved one at a time in {joined.ElapsedMilliseconds} ms after the second node started");
            foreach (var node in nodes)
            {
                var statuses = await Task.WhenAll(node.Servers.Values.Select(ClusteredTable.GetStatusAsync));
                Assert.Equal(0, statuses.Sum(s => s.Fencings));
            }

            Assert.Equal(tables / 2, owners.Values.Count(n => n == nodes[1]));
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>Waits, at most <paramref name="within"/>, until every table is owned by exactly one node and each node
    /// owns the floor or the ceiling of its share; two owners of one table at any moment fail the test.</summary>
    private static async Task<Dictionary<string, ManyTablesNode>> UntilBalancedAsync(List<ManyTablesNode> nodes, int tables, TimeSpan within)
    {
        var floor = tables / nodes.Count;
        var ceiling = (tables + nodes.Count - 1) / nodes.Count;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var owners = await UntilEveryTableIsOwnedOnceAsync(nodes, tables, strict: true);
            var counts = nodes.Select(n => owners.Values.Count(o => o == n)).ToList();
            if (counts.All(c => c >= floor && c <= ceiling))
            {
                return owners;
            }

            Assert.True(waited.Elapsed < within, $"not balanced within {within.TotalSeconds} s: {string.Join(", ", counts)} (share {floor} or {ceiling})");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every table is owned once and each node owns the floor or the ceiling of its share: then no
    /// node is above the ceiling nor below the floor, and balancing moves nothing.</summary>
    private static async Task<Dictionary<string, ManyTablesNode>> UntilSettledAsync(List<ManyTablesNode> nodes, int tables)
    {
        var (floor, ceiling) = (tables / nodes.Count, (tables + nodes.Count - 1) / nodes.Count);
        Dictionary<string, ManyTablesNode> owners = [];
        await UntilAsync(async () =>
        {
            owners = await UntilEveryTableIsOwnedOnceAsync(nodes, tables);
            return nodes.All(n => owners.Values.Count(o => o == n) is var count && count >= floor && count <= ceiling);
        });
        return owners;
    }

    private async Task SampleWhileAsync(string schema, Dictionary<string, long> peak, Task work)
    {
        while (!work.IsCompleted)
        {
            await SampleConnectionsAsync(schema, peak);
            await Task.Delay(5);
        }

        await work;
    }

    /// <summary>Counts each node's connections in pg_stat_activity (each is named "heirloom:NODE/ROLE") and keeps the
    /// highest count seen per node.</summary>
    private async Task SampleConnectionsAsync(string schema, Dictionary<string, long> peak)
    {
        await using var command = _observer.CreateCommand(
            "SELECT split_part(application_name, '/', 1), count(*) FROM pg_stat_activity WHERE application_name LIKE $1 GROUP BY 1");
        command.Parameters.Add(new() { Value = $"heirloom:{schema}-%" });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var node = reader.GetString(0);
            peak[node] = Math.Max(peak.GetValueOrDefault(node), reader.GetInt64(1));
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(20);
        }
    }
}
