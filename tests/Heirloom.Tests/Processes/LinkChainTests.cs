using System.Diagnostics.Metrics;
using Heirloom.Diagnostics;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Processes;

/// <summary>Exit signals along long chains of links: delivered from a loop, never by nesting one exit in another on the
/// thread's stack (which ended the OS process with a stack overflow past about 12,000 processes).</summary>
public sealed class LinkChainTests
{
    [Fact]
    public async Task A_chain_of_100000_linked_processes_killed_at_its_head_dies_whole()
    {
        await using var node = new Node();
        var (head, tail) = await SpawnChainAsync(node, 100_000);
        Assert.Equal(100_000, node.ProcessCount);

        node.Exit(head, ExitReason.Kill);

        Assert.Equal(ExitReason.Killed, await node.Exited(tail));
        await TestKit.WaitUntil(() => node.ProcessCount == 0);
    }

    [Fact]
    public async Task A_crash_at_the_tail_travels_up_a_long_chain_to_a_trapping_head()
    {
        await using var node = new Node();
        var exits = new TaskCompletionSource<ExitSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (_, tail) = await SpawnChainAsync(node, 50_000, trapping: exits);

        tail.Send("crash");

        var exit = await exits.Task.WaitAsync(TestKit.Patience);
        Assert.Equal(ExitReasonKind.Exception, exit.Reason.Kind);
        Assert.Equal("tail crash", exit.Reason.Exception!.Message);
        await TestKit.WaitUntil(() => node.ProcessCount == 1);
    }

    [Fact]
    public async Task Every_process_of_a_chain_passes_its_table_on_before_its_exit_reaches_the_next()
    {
        // Each process owns a table whose heir is the next one down the chain. Killing the head passes every table but
        // the last to its heir only if each heir is still alive when the table reaches it: the transfer comes before
        // the EXIT that kills the heir. And every monitor on the chain fires once.
        await using var node = new Node();
        const int length = 20_000;
        using var transfers = new TransferCounter(node);
        var pids = new Pid[length];
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;

        Func<ProcessContext, Task> Link(int position) => async ctx =>
        {
            pids[position] = ctx.Self;
            var next = position + 1 < length ? ctx.SpawnLink(Link(position + 1)) : Pid.None;
            Table.New<int, int>(new TableOptions { Heir = next }).Insert(position, position);
            if (Interlocked.Increment(ref running) == length)
            {
                ready.SetResult();
            }

            await TestKit.Idle(ctx);
        };

        node.Spawn(Link(0));
        await ready.Task.WaitAsync(TestKit.Patience);
        var downs = await node.Run(async ctx =>
        {
            foreach (var pid in pids)
            {
                ctx.Monitor(pid);
            }

            node.Exit(pids[0], ExitReason.Kill);
            var seen = new HashSet<Pid>();
            while (seen.Count < length)
            {
                var down = await ctx.Receive<Down>();
                Assert.Equal(ExitReason.Killed, down.Reason);
                Assert.True(seen.Add(down.Pid), $"A second Down for {down.Pid}.");
            }

            return seen.Count;
        });

        Assert.Equal(length, downs);
        Assert.Equal(length - 1, transfers.Count);
        await TestKit.WaitUntil(() => node.ProcessCount == 0 && node.Tables.All().Count == 0);
    }

    [Fact]
    public async Task Every_exit_of_a_chain_finishes_when_a_hook_of_one_process_throws()
    {
        // One process in the middle owns something whose exit hook throws. The exits along the chain must still all
        // finish (every waiter answered, every process gone); the hook's failure reaches the code that killed the head.
        await using var node = new Node();
        const int length = 1_000;
        var pids = new Pid[length];
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Func<ProcessContext, Task> Link(int position) => async ctx =>
        {
            pids[position] = ctx.Self;
            if (position + 1 < length)
            {
                ctx.SpawnLink(Link(position + 1));
            }
            else
            {
                ready.SetResult();
            }

            await TestKit.Idle(ctx);
        };

        node.Spawn(Link(0));
        await ready.Task.WaitAsync(TestKit.Patience);
        Assert.True(pids[length / 2].Resolve().TryAddOwned(new ThrowingHook()));
        var exits = pids.Select(node.WhenExited).ToArray();

        var failure = Assert.Throws<InvalidOperationException>(() => node.Exit(pids[0], ExitReason.Kill));

        Assert.Equal("hook failed", failure.Message);
        Assert.All(await Task.WhenAll(exits).WaitAsync(TestKit.Patience), reason => Assert.Equal(ExitReason.Killed, reason));
        await TestKit.WaitUntil(() => node.ProcessCount == 0);
    }

    private sealed class ThrowingHook : IProcessOwned
    {
        public void OnOwnerExit(Heirloom.Processes.Process owner) => throw new InvalidOperationException("hook failed");
    }

    /// <summary>Spawns a chain where each process links the next, and returns its ends once the whole chain runs.
    /// The tail crashes on "crash"; with <paramref name="trapping"/>, the head traps exits and reports the first.</summary>
    private static async Task<(Pid Head, Pid Tail)> SpawnChainAsync(Node node, int length, TaskCompletionSource<ExitSignal>? trapping = null)
    {
        var tail = new TaskCompletionSource<Pid>(TaskCreationOptions.RunContinuationsAsynchronously);

        Func<ProcessContext, Task> Link(int remaining) => async ctx =>
        {
            if (remaining == length && trapping is not null)
            {
                ctx.TrapExit = true;
            }

            if (remaining > 1)
            {
                ctx.SpawnLink(Link(remaining - 1));
            }
            else
            {
                tail.SetResult(ctx.Self);
            }

            while (true)
            {
                var message = await ctx.ReceiveAsync();
                if (message is "crash")
                {
                    throw new InvalidOperationException("tail crash");
                }

                if (message is ExitSignal exit)
                {
                    trapping?.TrySetResult(exit);
                }
            }
        };

        var head = node.Spawn(Link(length));
        return (head, await tail.Task.WaitAsync(TestKit.Patience));
    }

    /// <summary>Counts the node's table transfers, as its meter reports them.</summary>
    private sealed class TransferCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public TransferCounter(Node node)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument is { Name: "heirloom.table.transfers", Meter.Name: HeirloomInstrumentation.MeterName })
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "heirloom.node", Value: int id } && id == node.Id)
                    {
                        Interlocked.Add(ref _count, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
