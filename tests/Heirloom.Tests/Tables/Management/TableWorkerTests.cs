using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables.Management;

public sealed class TableWorkerTests
{
    /// <summary>Appends each request to its table and replies with the count; "stop" stops it; a cast appends too.</summary>
    private sealed class Appender : TableWorker<long, string>
    {
        public int TablesReceived { get; private set; }

        protected override ValueTask OnTableAsync(Table<long, string> table, object? gift)
        {
            TablesReceived++;
            return ValueTask.CompletedTask;
        }

        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(request is "stop"
                ? CallResult.Stop(ExitReason.Normal, "stopping")
                : CallResult.Reply(Append((string)request)));

        protected override ValueTask<ServerResult> HandleTableCastAsync(object message)
        {
            Append((string)message);
            return ValueTask.FromResult(ServerResult.Ok);
        }

        private long Append(string text)
        {
            Table.Insert(Table.Count + 1, text);
            return Table.Count;
        }
    }

    [Fact]
    public async Task Requests_before_the_table_wait_and_are_handled_in_order_once_it_arrives()
    {
        await using var node = new Node();
        var worker = await GenServer.StartAsync(node, () => new Appender(), new GenServerOptions { Name = "appender" });
        var first = GenServer.CallAsync<long>(worker, "first").AsTask();
        GenServer.Cast(worker, "cast");
        var second = GenServer.CallAsync<long>(worker, "second").AsTask();
        await Task.Delay(50);
        Assert.False(first.IsCompleted || second.IsCompleted);

        var table = Table.New<long, string>(node, new TableOptions { Type = TableType.OrderedSet });
        table.GiveAway(worker, gift: null);
        Assert.Equal(1, await first);
        Assert.Equal(3, await second);
        Assert.Equal(["first", "cast", "second"], table.ToList().Select(p => p.Value));
        Assert.Equal(4, await GenServer.CallAsync<long>(worker, "after"));
    }

    [Fact]
    public async Task A_withdrawn_table_is_dropped_and_later_requests_wait_for_the_next_one_without_the_worker_exiting()
    {
        await using var node = new Node();
        var worker = await GenServer.StartAsync(node, () => new Appender());
        var first = Table.New<long, string>(node, new TableOptions());
        first.GiveAway(worker, gift: null);
        Assert.Equal(1, await GenServer.CallAsync<long>(worker, "a"));

        worker.Send(new TableWithdrawn(first, new TableWithdrawnException("another node took it")));
        var waiting = GenServer.CallAsync<long>(worker, "b").AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        var second = Table.New<long, string>(node, new TableOptions());
        second.GiveAway(worker, gift: null);
        Assert.Equal(1, await waiting);                                  // handled on the next table
        Assert.Equal(["b"], second.ToList().Select(p => p.Value));
        Assert.True(worker.IsAlive);
    }

    [Fact]
    public async Task A_request_meeting_a_table_failed_by_a_withdrawal_fails_and_the_worker_waits_for_the_next_table()
    {
        await using var node = new Node();
        var worker = await GenServer.StartAsync(node, () => new Appender());
        var lost = new ReplicaStandby<long, string>(TableType.Set).Promote(node, new TableOptions(), new AcceptingReplica(), 0);
        lost.GiveAway(worker, gift: null);
        Assert.Equal(1, await GenServer.CallAsync<long>(worker, "a"));

        ReplicatedTable.Fail(lost, new TableWithdrawnException("another node took it"));
        var failed = await Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync<long>(worker, "b").AsTask());
        Assert.True(TableWithdrawnException.IsWithdrawal(failed.Reason.Exception), $"the call failed with {failed.Reason}");
        Assert.True(worker.IsAlive);

        var next = Table.New<long, string>(node, new TableOptions());
        next.GiveAway(worker, gift: null);
        Assert.Equal(1, await GenServer.CallAsync<long>(worker, "c"));
    }

    /// <summary>A replica that commits every write at once.</summary>
    private sealed class AcceptingReplica : ITableReplica
    {
        public bool WritesWaitForCommit => false;

        public void Append(JournalRecord record)
        {
        }

        public ValueTask WhenCommittedAsync(long sequence) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_stop_among_the_waiting_requests_stops_the_worker_and_the_rest_see_it_exit()
    {
        await using var node = new Node();
        var worker = await GenServer.StartAsync(node, () => new Appender());
        var reply = GenServer.CallAsync<string>(worker, "stop").AsTask();
        var after = GenServer.CallAsync<long>(worker, "too late").AsTask();
        Table.New<long, string>(node, new TableOptions()).GiveAway(worker, gift: null);

        Assert.Equal("stopping", await reply);
        Assert.Equal(ExitReason.Normal, (await Assert.ThrowsAsync<CallFailedException>(() => after)).Reason);
    }

    [Fact]
    public async Task The_table_read_before_it_arrived_fails_with_a_message_that_says_where_to_use_it()
    {
        await using var node = new Node();
        var error = await Assert.ThrowsAsync<GenServerStartException>(() => GenServer.StartAsync(node, () => new EagerAppender()));
        Assert.Contains("does not hold its table yet", error.Message);
    }

    private sealed class EagerAppender : TableWorker<long, string>
    {
        protected internal override ValueTask<InitResult> InitAsync() => ValueTask.FromResult(Table.Count == 0 ? InitResult.Ok : InitResult.Ignore);
    }
}
