using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Microsoft.Extensions.Time.Testing;

namespace Heirloom.Tests.Time;

/// <summary>
/// On a node given a clock the test advances itself, every timeout follows that clock: advancing it past a timeout
/// fires it, and without advancing nothing fires, however long real time runs. A provider's timer fires inside
/// <see cref="FakeTimeProvider.Advance"/>, on the test's thread, so "not fired" is checked right after advancing.
/// </summary>
public sealed class VirtualTimeTests : IDisposable
{
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);

    private readonly TemporaryDirectory _temporary = new("virtual-time");

    public void Dispose() => _temporary.Dispose();

    [Fact]
    public async Task A_receive_times_out_when_the_clock_reaches_its_timeout_and_not_a_millisecond_before()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var result = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pid = node.Spawn(async ctx => result.SetResult(await ctx.ReceiveAsync(TimeSpan.FromSeconds(5))));
        await WaitUntilParked(node, pid);

        // The timer would have fired inside Advance and woken the process there: it is still parked.
        time.Advance(TimeSpan.FromSeconds(5) - OneMs);
        Assert.Equal(ProcessStatus.Waiting, node.GetProcessInfo(pid)!.Status);
        Assert.False(result.Task.IsCompleted);

        time.Advance(OneMs);
        Assert.Null(await result.Task.WaitAsync(TestKit.Patience));
    }

    [Fact]
    public async Task A_receive_whose_clock_stands_still_never_times_out()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var pid = node.Spawn(async ctx => await ctx.ReceiveAsync(OneMs));
        await WaitUntilParked(node, pid);

        // Real milliseconds pass; the node's clock does not.
        await Task.Delay(30);
        Assert.Equal(ProcessStatus.Waiting, node.GetProcessInfo(pid)!.Status);
        time.Advance(OneMs);
        await node.Exited(pid);
    }

    [Fact]
    public async Task A_call_from_outside_times_out_on_the_nodes_clock()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Held(release.Task));
        var timeout = TimeSpan.FromSeconds(5);

        // Just short of the timeout the call still stands: released, the server's reply reaches the caller.
        var call = GenServer.CallAsync<string>(server, "work", timeout).AsTask();
        time.Advance(timeout - OneMs);
        release.SetResult();
        Assert.Equal("done", await call.WaitAsync(TestKit.Patience));

        // Held again, the next call ends when the clock reaches its deadline.
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        GenServer.Cast(server, next.Task);
        var timedOut = GenServer.CallAsync<string>(server, "work", timeout).AsTask();
        time.Advance(timeout);
        await Assert.ThrowsAsync<CallTimeoutException>(() => timedOut.WaitAsync(TestKit.Patience));
        next.SetResult();
    }

    [Fact]
    public async Task A_call_from_a_process_times_out_on_the_nodes_clock()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Held(release.Task));
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var caller = node.Spawn(async ctx =>
        {
            try
            {
                await GenServer.CallAsync<string>(server, "work", TimeSpan.FromMilliseconds(50));
                outcome.SetResult(null);
            }
            catch (Exception e)
            {
                outcome.SetResult(e);
            }
        });
        await WaitUntilParked(node, caller);
        time.Advance(TimeSpan.FromMilliseconds(49));
        Assert.Equal(ProcessStatus.Waiting, node.GetProcessInfo(caller)!.Status);
        time.Advance(OneMs);
        Assert.IsType<CallTimeoutException>(await outcome.Task.WaitAsync(TestKit.Patience));
        release.SetResult();
    }

    [Fact]
    public async Task A_supervisors_restart_window_is_counted_on_the_nodes_clock()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var options = new SupervisorOptions { Intensity = 1, Period = TimeSpan.FromSeconds(5), Children = [ChildSpec.ForProcess("a", TestKit.ExitWhenTold)] };
        var sup = await Supervisor.StartAsync(node, options);

        // Two crashes more than a period apart on the clock: each is the only one in its window.
        var first = await Child(sup);
        first.Send(ExitReason.Custom("crash 1"));
        var second = await Replacement(sup, first);
        time.Advance(TimeSpan.FromSeconds(5) + OneMs);
        second.Send(ExitReason.Custom("crash 2"));
        var third = await Replacement(sup, second);
        Assert.Equal(1, (await Supervisor.GetStatusAsync(sup)).RecentRestarts);

        // Real time passing does not empty the window: two crashes with the clock standing still are one too many.
        await Task.Delay(30);
        third.Send(ExitReason.Custom("crash 3"));
        Assert.Equal(ExitReason.Shutdown, await node.Exited(sup));
    }

    [Fact]
    public async Task The_managers_retry_waits_for_the_nodes_clock()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var worker = new TaskCompletionSource<Pid>(TaskCreationOptions.RunContinuationsAsynchronously);
        var spec = ManagedTable.For<long, long>("records") with { FindMe = _ => worker.Task.IsCompletedSuccessfully ? worker.Task.Result : Pid.None };
        var manager = await TableManager.StartAsync(node, new TableManagerOptions { Tables = [spec], InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(1) });
        Assert.Equal(ManagedTableState.Discovering, Assert.Single(await TableManager.GetStatusAsync(manager)).State);

        // The worker is there, but only the next retry looks for it, and the clock has not reached it.
        var received = new TaskCompletionSource<TableTransfer>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.SetResult(node.Spawn(async ctx => received.SetResult(await ctx.Receive<TableTransfer>())));
        await Task.Delay(30);
        Assert.Equal(ManagedTableState.Discovering, Assert.Single(await TableManager.GetStatusAsync(manager)).State);

        // The first retry comes within the initial backoff (half of it to all of it, with jitter).
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(manager, (await received.Task.WaitAsync(TestKit.Patience)).From);
    }

    [Fact]
    public async Task The_journals_every_second_fsync_follows_the_nodes_clock()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var table = DurableTable.Open<long, long>(node, new TableOptions(), new DurabilityOptions(_temporary.Path) { Fsync = FsyncPolicy.EverySecond });
        table.Insert(1, 1);
        var status = DurableTable.GetStatus(table);
        Assert.Equal(1, status.LastSequence - status.DurableSequence);

        await Task.Delay(30);
        Assert.Equal(status.DurableSequence, DurableTable.GetStatus(table).DurableSequence);

        // The flush runs inside Advance, on this thread.
        time.Advance(TimeSpan.FromSeconds(1));
        status = DurableTable.GetStatus(table);
        Assert.Equal(status.LastSequence, status.DurableSequence);
        Assert.Equal(TimeSpan.Zero, status.SinceLastFsync);
        table.Delete();
    }

    [Fact]
    public void A_node_refuses_a_null_clock()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new Node { TimeProvider = null! });
        Assert.Contains("TimeProvider.System", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Waits until the process is parked in its receive, so that its timeout was taken from the clock before
    /// the test advances it.</summary>
    internal static Task WaitUntilParked(Node node, Pid pid) =>
        TestKit.WaitUntil(() => node.GetProcessInfo(pid)?.Status == ProcessStatus.Waiting);

    private static async Task<Pid> Child(Pid supervisor) =>
        Assert.Single(await Supervisor.WhichChildrenAsync(supervisor)).Pid;

    private static async Task<Pid> Replacement(Pid supervisor, Pid old)
    {
        var deadline = DateTime.UtcNow + TestKit.Patience;
        while (true)
        {
            if (await Child(supervisor) is { IsNone: false, IsAlive: true } pid && pid != old)
            {
                return pid;
            }

            Assert.True(DateTime.UtcNow < deadline, "The child was never restarted.");
            await Task.Delay(1);
        }
    }

    /// <summary>Replies "done" to a call once the task it holds completes; a cast task replaces it.</summary>
    private sealed class Held(Task release) : GenServer
    {
        private Task _release = release;

        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            await _release;
            return CallResult.Reply("done");
        }

        protected internal override ValueTask<ServerResult> HandleCastAsync(object message)
        {
            _release = (Task)message;
            return ValueTask.FromResult(ServerResult.Ok);
        }
    }
}
