using Heirloom.Behaviours;
using Heirloom.Postgres;

namespace Heirloom.Routing.Tests;

/// <summary>Calls routed to a clustered table's worker from nodes inside the test process: to the owner from a standby
/// and from a node that serves nothing, casts, through a planned move and a takeover, deadlines, and bad input.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RoutingTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_call_from_a_standby_node_reaches_the_owners_worker_and_its_reply_comes_back()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        var table = await owner.Table.WaitAsync(Patience);
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");

        Assert.Equal(ClusteredTableRole.Standby, (await standby.StatusAsync()).Role);
        Assert.Equal(7L, await standby.Router.CallAsync<long>("ledger", 7L, TimeSpan.FromSeconds(5)));
        Assert.Equal(7L, table.Lookup(7)[0]);                                      // written on the owner
        Assert.Equal(7L, await standby.Router.CallAsync<long>("ledger", new Lookup(7)));
        Assert.Equal(-1L, await standby.Router.CallAsync<long>("ledger", new Lookup(8)));
        var members = await standby.Cluster.GetMembersAsync();
        Assert.Equal(owner.Router.Address, members.Single(m => m.NodeId == "a").Address);
    }

    [Fact]
    public async Task A_cast_from_another_node_is_delivered_to_the_owners_worker_before_a_later_call()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        var table = await owner.Table.WaitAsync(Patience);
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);

        await caller.Router.CastAsync("ledger", 9L);

        // The cast was in the worker's mailbox when CastAsync returned, so a later call is handled after it.
        Assert.Equal(9L, await caller.Router.CallAsync<long>("ledger", new Lookup(9)));
        Assert.Equal(9L, table.Lookup(9)[0]);
    }

    [Fact]
    public async Task Calls_during_a_planned_move_reach_the_new_owner_within_their_deadline_and_every_reply_is_written_there()
    {
        var schema = PostgresServer.NewSchema();
        var first = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await first.Table.WaitAsync(Patience);
        await using var second = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);
        Assert.Equal(1L, await caller.Router.CallAsync<long>("ledger", 1L));

        using var stop = new CancellationTokenSource();
        var next = 1L;
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var replies = new List<long>();
            while (!stop.IsCancellationRequested)
            {
                var key = Interlocked.Increment(ref next);
                replies.Add(await caller.Router.CallAsync<long>("ledger", key, TimeSpan.FromSeconds(10)));
            }

            return replies;
        })).ToArray();

        await Task.Delay(200);
        await first.DisposeAsync();                   // stopping hands the table off to b: a planned move
        var taken = await second.Table.WaitAsync(Patience);
        await Task.Delay(200);                        // calls keep going to the new owner for a while
        stop.Cancel();
        var replies = (await Task.WhenAll(callers)).SelectMany(r => r).ToList();

        Assert.True(replies.Count > 8, $"only {replies.Count} calls were made");
        Assert.All(replies, key => Assert.Equal(key, taken.Lookup(key).Single()));
        Assert.Equal((ClusteredTableRole.Owner, 0), ((await second.StatusAsync()).Role, (await second.StatusAsync()).Fencings));
    }

    [Fact]
    public async Task A_call_after_a_takeover_reaches_the_new_owner()
    {
        var schema = PostgresServer.NewSchema();
        var first = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await first.Table.WaitAsync(Patience);
        await using var second = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);
        Assert.Equal(1L, await caller.Router.CallAsync<long>("ledger", 1L));

        // The owner's cluster goes first: its lock and router go with it, and the standby takes the table.
        await first.Cluster.DisposeAsync();
        await first.Router.DisposeAsync();
        Assert.Equal(2L, await caller.Router.CallAsync<long>("ledger", 2L, TimeSpan.FromSeconds(15)));

        var taken = await second.Table.WaitAsync(Patience);
        Assert.Equal([1L, 2L], taken.Select((_, _) => true, (k, _) => k).Order());
        await first.Node.DisposeAsync();
    }

    [Fact]
    public async Task A_call_whose_deadline_passes_while_queued_behind_a_busy_worker_is_never_applied_and_is_reported_as_not_started()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        var table = await owner.Table.WaitAsync(Patience);
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);
        var name = Guid.NewGuid().ToString("N");
        var gate = Gates.Get(name);
        var held = caller.Router.CallAsync<string>("ledger", new Hold(name), TimeSpan.FromSeconds(30));
        await gate.Held.Task.WaitAsync(Patience);     // the worker is busy for certain

        var expired = await Assert.ThrowsAsync<CallTimeoutException>(() => caller.Router.CallAsync<long>("ledger", 42L, TimeSpan.FromMilliseconds(300)));
        gate.Open.SetResult();

        Assert.False(expired.HandlerStarted);
        Assert.Contains("had not started", expired.Message);
        Assert.Equal("released", await held);
        Assert.Equal(-1L, await caller.Router.CallAsync<long>("ledger", new Lookup(42)));   // handled after the expired call's turn
        Assert.Empty(table.Lookup(42));
    }

    [Fact]
    public async Task A_request_or_reply_of_a_type_with_no_codec_fails_with_a_typed_exception_naming_the_type()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        var options = RoutedNode.DefaultOptions;
        options.Codecs.Register<AskForUnregistered>();
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false, options);

        var request = await Assert.ThrowsAsync<MissingCodecException>(() => caller.Router.CallAsync<long>("ledger", new Unregistered(1)));
        Assert.Equal(typeof(Unregistered), request.Type);
        Assert.Contains("Register<Unregistered>()", request.Message);

        // The owner does not know AskForUnregistered: it refuses the request without handling it.
        var unknown = await Assert.ThrowsAsync<RoutedCallFailedException>(() => caller.Router.CallAsync<object>("ledger", new AskForUnregistered()));
        Assert.False(unknown.HandlerStarted);
        Assert.Contains("codec", unknown.Message);
    }

    [Fact]
    public async Task An_unknown_table_an_empty_name_and_a_null_request_are_refused_with_typed_exceptions()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);

        var unknown = await Assert.ThrowsAsync<ClusteredTableNotFoundException>(() => owner.Router.CallAsync<long>("nope", 1L));
        Assert.Equal("nope", unknown.Table);
        await Assert.ThrowsAsync<ArgumentException>(() => owner.Router.CallAsync<long>("", 1L));
        await Assert.ThrowsAsync<ArgumentNullException>(() => owner.Router.CallAsync<long>("ledger", null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => owner.Router.CastAsync("ledger", null!));
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => NodeRouter.StartAsync(owner.Cluster, new RouterOptions { Secret = "" }));
        Assert.Contains("Secret", empty.Message);
    }
}
