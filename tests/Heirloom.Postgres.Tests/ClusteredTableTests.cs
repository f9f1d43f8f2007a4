using Heirloom.Behaviours;
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
    public async Task A_node_whose_epoch_was_taken_has_its_writes_refused_its_worker_exits_fenced_and_it_waits_for_the_table_again()
    {
        var schema = PostgresServer.NewSchema();
        await using var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a");
        await node.Table.WaitAsync(Patience);
        await GenServer.CallAsync<long>(node.Node, "writer", 1L);
        var worker = node.Node.WhereIs("writer");
        node.ExpectTable();

        // Another node's takeover, as PostgreSQL sees it: the epoch moves on.
        await server.ScalarAsync<object>($"UPDATE {schema}.tables SET epoch = epoch + 1");
        var reason = await node.Node.WhenExited(worker).WaitAsync(Patience);

        Assert.True(IsFencing(reason), $"the worker exited with {reason}");
        var again = await node.Table.WaitAsync(Patience);               // the lock was released with the session, and taken again
        Assert.Equal(1, again.Count);
        var status = await node.StatusAsync();
        Assert.Equal((ClusteredTableRole.Owner, 3L, 1), (status.Role, status.Epoch, status.Fencings));
        Assert.Contains("taken over", status.LastFencing!.Message);
        Assert.Equal(2L, await GenServer.CallAsync<long>(node.Node, "writer", 2L));
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
            $"SELECT {schema}.commit_rows('ledger', $1, 99, 0, ARRAY['\\x01'::bytea], ARRAY['\\x02'::bytea], ARRAY[99::bigint])", epoch - 1));

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

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }
}
