using System.Collections.Concurrent;
using Heirloom.Processes;
using Microsoft.Extensions.Time.Testing;

namespace Heirloom.Tests.Time;

/// <summary>Timers as <c>erlang:send_after/3</c>, <c>start_timer/3</c>, <c>cancel_timer/1</c> and <c>read_timer/1</c>,
/// on a clock the test advances.</summary>
public sealed class TimerTests
{
    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan FiveSeconds = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Send_after_delivers_the_message_when_the_clock_reaches_the_delay()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var holder = new Holder(node);
        var timer = node.SendAfter(holder.Pid, "tick", FiveSeconds);

        // The provider's timer fires inside Advance: until then the mailbox stays empty.
        time.Advance(FiveSeconds - OneMs);
        Assert.Equal(0, holder.Queued);
        Assert.Equal(OneMs, node.ReadTimer(timer));

        time.Advance(OneMs);
        Assert.Equal(1, holder.Queued);
        Assert.Null(node.ReadTimer(timer));
        Assert.Null(node.CancelTimer(timer));
        Assert.Equal(["tick"], await holder.DrainAsync());
    }

    [Fact]
    public async Task Start_timer_delivers_a_timer_fired_naming_the_timer()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var fired = new TaskCompletionSource<(TimerRef Started, TimerFired Fired)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pid = node.Spawn(async ctx =>
        {
            var started = ctx.StartTimer(FiveSeconds, "tick");
            fired.SetResult((started, (TimerFired)(await ctx.ReceiveAsync())));
        });
        await VirtualTimeTests.WaitUntilParked(node, pid);
        time.Advance(FiveSeconds);
        var (started, message) = await fired.Task.WaitAsync(TestKit.Patience);
        Assert.Equal(new TimerFired(started, "tick"), message);
        Assert.StartsWith("#Ref<timer.", started.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_returns_the_time_left_once_and_the_message_never_comes()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var holder = new Holder(node);
        var timer = node.StartTimer(holder.Pid, "tick", FiveSeconds);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(3), node.CancelTimer(timer));
        Assert.Null(node.CancelTimer(timer));
        Assert.Null(node.ReadTimer(timer));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, holder.Queued);
        Assert.Equal(0, node.Timers.Count);
        Assert.Empty(await holder.DrainAsync());
    }

    [Fact]
    public async Task A_timer_to_a_dead_process_is_dropped()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);
        var timer = node.SendAfter(dead, "tick", FiveSeconds);
        Assert.NotEqual(default, timer);
        Assert.Null(node.ReadTimer(timer));
        Assert.Null(node.CancelTimer(timer));
        Assert.Equal(0, node.Timers.Count);
    }

    [Fact]
    public async Task A_timer_is_cancelled_when_its_target_exits()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var owner = new TaskCompletionSource<TimerRef>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pid = node.Spawn(async ctx =>
        {
            owner.SetResult(ctx.StartTimer(FiveSeconds, "tick"));
            await ctx.ReceiveAsync(m => m is "stop");
        });
        var timer = await owner.Task.WaitAsync(TestKit.Patience);
        Assert.Equal(FiveSeconds, node.ReadTimer(timer));
        pid.Send("stop");
        await node.Exited(pid);

        // The exit ended the timer: nothing is left to cancel, and nothing is pending on the node.
        Assert.Null(node.ReadTimer(timer));
        Assert.Null(node.CancelTimer(timer));
        Assert.Equal(0, node.Timers.Count);
    }

    [Fact]
    public async Task A_timer_to_a_name_finds_the_names_holder_when_it_fires()
    {
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        node.SendAfter("later", "tick", FiveSeconds);
        var holder = new Holder(node);
        node.Register("later", holder.Pid);
        time.Advance(FiveSeconds);
        Assert.Equal(["tick"], await holder.DrainAsync());

        // Nobody registered when it fires: the message is dropped.
        var unheard = node.SendAfter("nobody", "tick", OneMs);
        time.Advance(OneMs);
        Assert.Null(node.ReadTimer(unheard));
    }

    [Fact]
    public async Task Stopping_the_node_cancels_its_timers()
    {
        var time = new FakeTimeProvider();
        var node = new Node { TimeProvider = time };
        var timer = node.SendAfter("later", "tick", FiveSeconds);
        await node.DisposeAsync();
        Assert.Null(node.ReadTimer(timer));
        Assert.Equal(0, node.Timers.Count);
    }

    [Fact]
    public async Task A_zero_delay_timer_on_the_system_clock_arrives()
    {
        await using var node = new Node();
        var message = await node.Run(async ctx =>
        {
            ctx.SendAfter(ctx.Self, "now", TimeSpan.Zero);
            return await ctx.ReceiveAsync(TestKit.Patience);
        });
        Assert.Equal("now", message);
    }

    [Fact]
    public async Task Bad_arguments_are_refused_with_what_to_pass()
    {
        await using var node = new Node();
        var holder = new Holder(node);
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => node.SendAfter(holder.Pid, "tick", TimeSpan.FromMilliseconds(-1)));
        Assert.Contains("TimeSpan.Zero", negative.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => node.StartTimer(holder.Pid, "tick", Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() => node.SendAfter(holder.Pid, "tick", TimeSpan.FromDays(60)));
        Assert.Throws<ArgumentNullException>(() => node.SendAfter(holder.Pid, null!, OneMs));
        Assert.Throws<InvalidOperationException>(() => node.SendAfter(Pid.None, "tick", OneMs));
        Assert.Throws<ArgumentException>(() => node.SendAfter("", "tick", OneMs));
        Assert.Null(node.CancelTimer(default));
        Assert.Equal(0, node.Timers.Count);
    }

    [Fact]
    public async Task Racing_cancels_and_firings_settle_every_timer_exactly_once()
    {
        // Threads cancel while the clock fires: each timer is either delivered or cancelled with time left, never both
        // and never neither.
        var time = new FakeTimeProvider();
        await using var node = new Node { TimeProvider = time };
        var holder = new Holder(node);
        const int Count = 2_000;
        var timers = new TimerRef[Count];
        for (var i = 0; i < Count; i++)
        {
            timers[i] = node.SendAfter(holder.Pid, i, TimeSpan.FromMilliseconds(1 + (i % 100)));
        }

        var cancelled = new ConcurrentBag<int>();
        using var start = new Barrier(3);
        var cancellers = Enumerable.Range(0, 2).Select(offset => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = offset; i < Count; i += 2)
            {
                if (node.CancelTimer(timers[i]) is { } left)
                {
                    Assert.True(left >= TimeSpan.Zero);
                    cancelled.Add(i);
                }
            }
        })).ToArray();
        start.SignalAndWait();
        for (var step = 0; step < 100; step++)
        {
            time.Advance(OneMs);
        }

        await Task.WhenAll(cancellers).WaitAsync(TestKit.Patience);
        var delivered = (await holder.DrainAsync()).Cast<int>().ToArray();
        Assert.Equal(Count, delivered.Length + cancelled.Count);
        Assert.Empty(delivered.Intersect(cancelled));
        Assert.Equal(delivered.Length, delivered.Distinct().Count());
        Assert.Equal(0, node.Timers.Count);
    }

    /// <summary>A process that leaves its mailbox alone until drained, so the test can count what was delivered.</summary>
    private sealed class Holder
    {
        private readonly TaskCompletionSource _drain = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<List<object>> _messages = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Node _node;

        public Holder(Node node)
        {
            _node = node;
            Pid = node.Spawn(async ctx =>
            {
                await _drain.Task;
                var messages = new List<object>();
                while (await ctx.ReceiveAsync() is var message && message is not End)
                {
                    messages.Add(message);
                }

                _messages.SetResult(messages);
                await TestKit.Idle(ctx);
            });
        }

        public Pid Pid { get; }

        /// <summary>Messages delivered and not yet drained; exact, since the process is not receiving.</summary>
        public int Queued => _node.GetProcessInfo(Pid)!.MessageQueueLength;

        /// <summary>Everything delivered so far, in order.</summary>
        public Task<List<object>> DrainAsync()
        {
            Pid.Send(End.Instance);
            _drain.TrySetResult();
            return _messages.Task.WaitAsync(TestKit.Patience);
        }

        private sealed class End
        {
            public static readonly End Instance = new();
        }
    }
}
