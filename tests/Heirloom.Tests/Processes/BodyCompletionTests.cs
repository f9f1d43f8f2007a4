using System.Collections.Concurrent;
using Heirloom.Processes;
using Xunit.Abstractions;

namespace Heirloom.Tests.Processes;

/// <summary>
/// A process ends when its body's task does, however the body got there: parked in its own receive, awaiting a task
/// that completes on another thread, receiving through a nested method, or resumed in a synchronization context.
/// </summary>
public sealed class BodyCompletionTests(ITestOutputHelper output)
{
    private const string Go = "go";

    public enum Step
    {
        Receive,
        NestedReceive,
        ReceiveAsTask,
        SelectiveReceive,
        Yield,
        Delay,
        ForeignCompletion,
    }

    public static TheoryData<Step> Steps => [.. Enum.GetValues<Step>()];

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_body_ends_normally_after_each_kind_of_await(Step step)
    {
        await using var node = new Node();
        var pid = node.Spawn(async ctx =>
        {
            await ctx.ReceiveAsync();
            await Take(ctx, step);
        });

        pid.Send(Go);
        pid.Send(Go);
        Assert.Equal(ExitReason.Normal, await node.Exited(pid));
        await TestKit.WaitUntil(() => node.ProcessCount == 0);
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_body_that_throws_after_each_kind_of_await_exits_with_its_error(Step step)
    {
        await using var node = new Node();
        var pid = node.Spawn(async ctx =>
        {
            await ctx.ReceiveAsync();
            await Take(ctx, step);
            throw new InvalidOperationException("planned failure");
        });

        pid.Send(Go);
        pid.Send(Go);
        var reason = await node.Exited(pid);
        Assert.Equal(ExitReasonKind.Exception, reason.Kind);
        Assert.Contains("planned failure", reason.ToString());
    }

    [Fact]
    public async Task A_receive_awaited_under_a_synchronization_context_resumes_through_it()
    {
        await using var node = new Node();
        var context = new CountingContext();
        var resumed = new TaskCompletionSource<(object Message, bool InContext)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pid = node.Spawn(async ctx =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            var message = await ctx.ReceiveAsync();
            resumed.SetResult((message, SynchronizationContext.Current == context));
        });

        await TestKit.WaitUntil(() => node.GetProcessInfo(pid)?.Status == ProcessStatus.Waiting);
        pid.Send(Go);

        var (received, inContext) = await resumed.Task.WaitAsync(TestKit.Patience);
        Assert.Equal(Go, received);
        Assert.True(inContext);
        Assert.Equal(1, context.Posts);
        Assert.Equal(ExitReason.Normal, await node.Exited(pid));
    }

    [Fact]
    public async Task A_receive_awaited_again_after_the_next_receive_is_refused()
    {
        await using var node = new Node();
        var outcome = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pid = node.Spawn(async ctx =>
        {
            var stale = ctx.ReceiveAsync();
            await stale;
            await ctx.ReceiveAsync();
            try
            {
                await stale;
                outcome.SetResult(null);
            }
            catch (InvalidOperationException refused)
            {
                outcome.SetResult(refused);
            }
        });

        for (var i = 0; i < 2; i++)
        {
            // Each receive must park, so that its ValueTask is backed by the process rather than a ready result.
            var taken = i;
            await TestKit.WaitUntil(() => node.GetProcessInfo(pid) is { Status: ProcessStatus.Waiting, MessagesIn: var got } && got == taken);
            pid.Send(Go);
        }

        var refused = await outcome.Task.WaitAsync(TestKit.Patience);
        Assert.NotNull(refused);
        Assert.Contains("await each receive once", refused.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Bodies_mixing_own_receives_and_foreign_awaits_each_exit_once_with_their_reason_under_sends_and_kills(int round)
    {
        var seed = Environment.TickCount ^ (round * 7919);
        output.WriteLine($"seed {seed}");
        const int Processes = 3_000, MaxSteps = 6;
        var random = new Random(seed);
        var plans = Enumerable.Range(0, Processes)
            .Select(_ => (Steps: Enumerable.Range(0, random.Next(MaxSteps + 1)).Select(_ => (Step)random.Next(7)).ToArray(), Throws: random.Next(3) == 0))
            .ToArray();

        await using var node = new Node();
        var pids = new Pid[Processes];
        Parallel.For(0, Processes, i => pids[i] = node.Spawn(ctx => PlannedBody(ctx, plans[i].Steps, plans[i].Throws)));

        // Messages and kills land at random moments on several threads while the bodies run.
        var killed = new ConcurrentDictionary<int, bool>();
        var seeds = Enumerable.Range(0, 4).Select(_ => random.Next()).ToArray();
        await Task.WhenAll(seeds.Select((threadSeed, thread) => Task.Run(() =>
        {
            var local = new Random(threadSeed);
            for (var n = 0; n < Processes * 2; n++)
            {
                var i = local.Next(Processes);
                if (thread == 0 && local.Next(20) == 0)
                {
                    killed[i] = true;
                    node.Exit(pids[i], ExitReason.Kill);
                }
                else
                {
                    pids[i].Send(Go);
                }
            }
        })));

        // Then enough for every plan to run to its end.
        foreach (var pid in pids)
        {
            for (var k = 0; k < MaxSteps; k++)
            {
                pid.Send(Go);
            }
        }

        var reasons = await Task.WhenAll(pids.Select(node.Exited));
        for (var i = 0; i < Processes; i++)
        {
            var planned = plans[i].Throws ? ExitReasonKind.Exception : ExitReasonKind.Normal;
            var kind = reasons[i].Kind;
            Assert.True(
                kind == planned || (killed.ContainsKey(i) && kind == ExitReasonKind.Killed),
                $"Process {i} ({string.Join(",", plans[i].Steps)}, throws: {plans[i].Throws}, killed: {killed.ContainsKey(i)}) exited with {reasons[i]}.");
        }

        await TestKit.WaitUntil(() => node.ProcessCount == 0);
    }

    private static async Task PlannedBody(ProcessContext ctx, Step[] steps, bool throws)
    {
        foreach (var step in steps)
        {
            await Take(ctx, step);
        }

        if (throws)
        {
            throw new InvalidOperationException("planned failure");
        }
    }

    private static async Task Take(ProcessContext ctx, Step step)
    {
        switch (step)
        {
            case Step.Receive:
                await ctx.ReceiveAsync();
                break;
            case Step.NestedReceive:
                await NestedReceive(ctx);
                break;
            case Step.ReceiveAsTask:
                await ctx.ReceiveAsync().AsTask();
                break;
            case Step.SelectiveReceive:
                await ctx.ReceiveAsync(m => Go.Equals(m), TestKit.Patience);
                break;
            case Step.Yield:
                await Task.Yield();
                break;
            case Step.Delay:
                await Task.Delay(1);
                break;
            case Step.ForeignCompletion:
                var done = new TaskCompletionSource();
                ThreadPool.QueueUserWorkItem(static state => ((TaskCompletionSource)state!).SetResult(), done);
                await done.Task;
                break;
        }
    }

    private static async Task NestedReceive(ProcessContext ctx) => await ctx.ReceiveAsync();

    private sealed class CountingContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                SetSynchronizationContext(this);
                d(state);
            });
        }
    }
}
