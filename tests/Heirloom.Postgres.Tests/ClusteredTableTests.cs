using Heirloom.Behaviours;
using Heirloom.Postgres.Testing;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Postgres.Tests;

/// <summary>Clustered tables with nodes inside the test process: commits, takeover with every acknowledged write,
/// fencing, bad configuration, and PostgreSQL restarting under writes.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusteredTableTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Acknowledged_writes_are_committed_and_the_next_node_takes_the_table_with_all_of_them()
    {
        var schema = PostgresServer.NewSchema();
        await using var first = await InProcessNode.StartAsync(server.ConnectionString, schema, "a");
        await first.Table.WaitAsync(Patience);
        await using var second = await InProcessNode.StartAsync(server.ConnectionString, schema, "b");

        var writes = Enumerable.Range(1, 500).Select(k => GenServer.CallAsync<long>(first.Node, "writer", (long)k).AsTask());
        await Task.WhenAll(writes);
        Assert.Equal(500L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE state IS NOT NULL"));
        Assert.Equal(ClusteredTableRole.Standby, (await second.StatusAsync()).Role);
        var owner = await first.StatusAsync();
        Assert.Equal(500L, owner.CommittedWrites);
        Assert.InRange(owner.Commits, 1L, 499L);   // 500 callers at once share commits

        await first.DisposeAsync();
        var taken = await second.Table.WaitAsync(Patience);

        Assert.Equal(500, taken.Count);
        Assert.Equal(42L, taken.Lookup(42)[0]);
        var status = await second.StatusAsync();
        Assert.Equal((ClusteredTableRole.Owner, 2L, 1), (status.Role, status.Epoch, status.Takeovers));
        Assert.Equal(501L, await GenServer.CallAsync<long>(second.Node, "writer", 501L));
    }

    [Fact]
    public async Task A_node_whose_epoch_was_taken_is_fenced_its_worker_waits_for_the_table_without_exiting_and_it_takes_the_table_again()
    {
        var schema = PostgresServer.NewSchema();
        await using var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a", defaultIntensity: true);
        await node.Table.WaitAsync(Patience);
        await GenServer.CallAsync<long>(node.Node, "writer", 1L);
        var worker = node.Node.WhereIs("writer");
        node.ExpectTable();

        // Another node's takeover, as PostgreSQL sees it: the epoch moves on.
        await server.ScalarAsync<object>($"UPDATE {schema}.tables SET epoch = epoch + 1");
        var again = await node.Table.WaitAsync(Patience);               // the lock was released, and taken again

        Assert.Equal(worker, node.Node.WhereIs("writer"));              // the same worker: it dropped the table and waited
        Assert.Equal(1, again.Count);
        var status = await node.StatusAsync();
        Assert.Equal((ClusteredTableRole.Owner, 3L, 1), (status.Role, status.Epoch, status.Fencings));
        Assert.Contains("taken over", status.LastFencing!.Message);
        Assert.Equal(2L, await GenServer.CallAsync<long>(node.Node, "writer", 2L));
    }

    [Fact]
    public async Task Nodes_fenced_10_times_in_a_minute_under_writes_keep_serving_at_the_default_restart_intensity_and_their_heartbeats_say_what_they_serve()
    {
        var schema = PostgresServer.NewSchema();
        await using var a = await InProcessNode.StartAsync(server.ConnectionString, schema, $"{schema}-a", defaultIntensity: true);
        await a.Table.WaitAsync(Patience);
        await using var b = await InProcessNode.StartAsync(server.ConnectionString, schema, $"{schema}-b", defaultIntensity: true);
        InProcessNode[] nodes = [a, b];
        var workers = nodes.Select(n => n.Node.WhereIs("writer")).ToArray();
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<long>();
        var next = 0L;
        using var stop = new CancellationTokenSource();

        // Writers on both nodes all along: the standby's calls wait for its worker to get the table; the owner's meet the
        // fencing in every state (queued, in the handler, waiting for their commit).
        var writers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    acknowledged.Add(await GenServer.CallAsync<long>(nodes[i % 2].Node, "writer", Interlocked.Increment(ref next), TimeSpan.FromSeconds(2)));
                }
                catch (CallFailedException)
                {
                    // Not acknowledged: the table moved under it, or its node is waiting for the table.
                }
            }
        })).ToList();

        var fencingsStarted = System.Diagnostics.Stopwatch.StartNew();
        for (var fencing = 0; fencing < 10; fencing++)
        {
            var owner = await OwnerAsync(nodes);
            var epoch = (await owner.StatusAsync()).Epoch;
            var before = acknowledged.Count;
            await server.ScalarAsync<object>($"UPDATE {schema}.tables SET epoch = epoch + 1");   // another node's takeover
            await WaitUntilAsync(async () => (await (await OwnerAsync(nodes)).StatusAsync()).Epoch > epoch + 1 && acknowledged.Count > before + 10);
        }

        var elapsed = fencingsStarted.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var statuses = await Task.WhenAll(nodes.Select(n => n.StatusAsync()));
        Assert.Equal(10, statuses.Sum(s => s.Fencings));
        Assert.True(elapsed < TimeSpan.FromMinutes(1), $"10 fencings took {elapsed}");
        Assert.All(nodes, n => Assert.True(n.Supervisor.IsAlive, "a node's supervisor gave up"));
        Assert.Equal(workers, nodes.Select(n => n.Node.WhereIs("writer")).ToArray());   // no worker was restarted
        Assert.Equal([ClusteredTableRole.Standby, ClusteredTableRole.Owner], statuses.Select(s => s.Role).Order().ToArray());

        // The standby follows the owner's commits, and each heartbeat records what its node serves.
        var standby = nodes[Array.FindIndex(statuses, s => s.Role == ClusteredTableRole.Standby)];
        var owned = nodes.Single(n => n != standby);
        var last = await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables");
        await WaitUntilAsync(async () => (await standby.StatusAsync()).Applied >= last);
        await WaitUntilAsync(async () =>
        {
            var members = await a.Cluster.GetMembersAsync();
            return members.Single(m => m.NodeId == owned.Cluster.NodeId).Serving.SequenceEqual(["ledger"])
                && members.Single(m => m.NodeId == standby.Cluster.NodeId).Serving.Count == 0;
        });
        var committed = await Heirloom.ClusterDemo.LedgerCheck.CommittedKeysAsync(server.ConnectionString, schema);
        Assert.All(acknowledged, key => Assert.Contains(key, committed));
    }

    private static async Task<InProcessNode> OwnerAsync(InProcessNode[] nodes)
    {
        InProcessNode? owner = null;
        await WaitUntilAsync(async () =>
        {
            var statuses = await Task.WhenAll(nodes.Select(n => n.StatusAsync()));
            owner = nodes.Where((_, i) => statuses[i].Role == ClusteredTableRole.Owner).FirstOrDefault();
            return owner is not null;
        });
        return owner!;
    }

    [Fact]
    public async Task A_commit_at_an_old_epoch_changes_nothing()
    {
        var schema = PostgresServer.NewSchema();
        await using var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a");
        await node.Table.WaitAsync(Patience);
        await GenServer.CallAsync<long>(node.Node, "writer", 1L);
        var epoch = await server.ScalarAsync<long>($"SELECT epoch FROM {schema}.tables");

        var stale = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => server.ScalarAsync<object>(
            $"SELECT {schema}.commit_rows('ledger', $1, 2, 99, 0, ARRAY['\\x01'::bytea], ARRAY['\\x02'::bytea], ARRAY[99::bigint])", epoch - 1));

        Assert.Equal("HL001", stale.SqlState);
        Assert.Equal(1L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows"));
    }

    [Fact]
    public async Task Bad_configuration_is_refused_with_a_message_that_says_what_to_change()
    {
        await using var node = new Node();
        var deadline = await Assert.ThrowsAsync<ArgumentException>(() => PostgresCluster.StartAsync(node, new PostgresClusterOptions
        {
            ConnectionString = server.ConnectionString,
            OwnerDeadline = TimeSpan.FromSeconds(10),
        }));
        Assert.Contains("OwnerDeadline", deadline.Message);
        var schema = await Assert.ThrowsAsync<ArgumentException>(() => PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = server.ConnectionString, Schema = "bad-name; drop" }));
        Assert.Contains("schema name", schema.Message);

        var name = PostgresServer.NewSchema();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = server.ConnectionString, Schema = name });
        var options = new ClusteredTableOptions { Name = "ledger", ManagerName = "manager", WorkerName = "writer" };
        var first = await ClusteredTable.StartAsync<long, long>(cluster, options);
        var mismatch = await Assert.ThrowsAsync<GenServerStartException>(() => ClusteredTable.StartAsync<long, string>(cluster, options with { Type = TableType.Bag }));
        Assert.Contains("Use the same type and codecs on every node", mismatch.InnerException!.Message);
        await GenServer.StopAsync(first);
    }

    [Fact]
    public async Task PostgreSQL_restarting_under_writes_loses_no_acknowledged_write_and_the_node_owns_the_table_again()
    {
        await using var own = await ThrowawayPostgres.StartAsync();
        var schema = PostgresServer.NewSchema();
        await using var node = await InProcessNode.StartAsync(own.ConnectionString, schema, "a");
        await node.Table.WaitAsync(Patience);
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<long>();
        var next = 0L;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var key = Interlocked.Increment(ref next);
                try
                {
                    acknowledged.Add(await GenServer.CallAsync<long>(node.Node, "writer", key, TimeSpan.FromSeconds(10)));
                }
                catch (Exception e) when (e is CallFailedException or NoProcessException)
                {
                    await Task.Delay(5);
                }
            }
        })).ToList();

        await WaitUntilAsync(() => acknowledged.Count > 200);
        node.ExpectTable();
        await own.RestartAsync();
        await node.Table.WaitAsync(Patience);
        var before = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count > before + 200);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var committed = await Heirloom.ClusterDemo.LedgerCheck.CommittedKeysAsync(own.ConnectionString, schema);
        Assert.All(acknowledged, key => Assert.Contains(key, committed));
        Assert.True((await node.StatusAsync()).Epoch >= 2);
    }

    internal static bool IsFencing(ExitReason reason) =>
        reason.Exception is FencedException || reason.Exception?.InnerException is FencedException;

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }
}
