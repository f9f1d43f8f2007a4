using System.Collections.Concurrent;
using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>A call whose caller gave up (timeout or cancellation) before the server reached it is never handled, and
/// the caller is told whether the handler had begun.</summary>
public sealed class CallDeadlineTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(30);

    /// <summary>Records every request it starts handling; a cast <see cref="Hold"/> keeps it busy until released.</summary>
    private sealed class Recorder(ConcurrentDictionary<int, bool> handled, TaskCompletionSource? entered = null) : GenServer
    {
        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case Work work:
                    handled[work.Id] = true;
                    SpinFor(work.Spin);
                    return CallResult.Reply(work.Id);
                case Hold hold:
                    handled[hold.Id] = true;
                    entered?.TrySetResult();
                    await hold.Release;
                    return CallResult.Reply(hold.Id);
                default:
                    return CallResult.Reply("flushed");
            }
        }

        protected internal override async ValueTask<ServerResult> HandleCastAsync(object message)
        {
            if (message is Hold hold)
            {
                entered?.TrySetResult();
                await hold.Release;
            }

            return ServerResult.Ok;
        }

        // Busy work standing for a handler's cost: it holds the server, it synchronizes nothing.
        private static void SpinFor(TimeSpan duration)
        {
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                Thread.SpinWait(20);
            }
        }
    }

    private sealed record Work(int Id, TimeSpan Spin);

    private sealed record Hold(int Id, Task Release);

    /// <summary>What a give-up reports about the handler: true when it had begun, false when it never will, null when
    /// the exception is not a give-up.</summary>
    private static bool? HandlerStarted(Exception e) => e switch
    {
        CallTimeoutException timeout => timeout.HandlerStarted,
        CallCanceledException cancelled => cancelled.HandlerStarted,
        _ => null,
    };

    private static async Task<(Pid Server, ConcurrentDictionary<int, bool> Handled, TaskCompletionSource Release)> StartBusyAsync(Node node)
    {
        var handled = new ConcurrentDictionary<int, bool>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Recorder(handled, entered));
        GenServer.Cast(server, new Hold(0, release.Task));
        await entered.Task.WaitAsync(TestKit.Patience);
        return (server, handled, release);
    }

    /// <summary>Releases the busy server and waits until it has passed every call queued before now.</summary>
    private static async Task FlushAsync(Pid server, TaskCompletionSource release)
    {
        release.SetResult();
        Assert.Equal("flushed", await GenServer.CallAsync<string>(server, "flush", TestKit.Patience));
    }

    [Fact]
    public async Task A_call_from_outside_that_timed_out_before_the_server_reached_it_is_never_handled()
    {
        await using var node = new Node();
        var (server, handled, release) = await StartBusyAsync(node);

        var error = await Assert.ThrowsAsync<CallTimeoutException>(async () => await GenServer.CallAsync(server, new Work(1, TimeSpan.Zero), Short));
        Assert.False(HandlerStarted(error));

        await FlushAsync(server, release);
        Assert.False(handled.ContainsKey(1));
    }

    [Fact]
    public async Task A_call_from_a_process_that_timed_out_before_the_server_reached_it_is_never_handled()
    {
        await using var node = new Node();
        var (server, handled, release) = await StartBusyAsync(node);

        var error = await node.Run(ctx => Assert.ThrowsAsync<CallTimeoutException>(async () => await GenServer.CallAsync(server, new Work(1, TimeSpan.Zero), Short)));
        Assert.False(HandlerStarted(error));

        await FlushAsync(server, release);
        Assert.False(handled.ContainsKey(1));
    }

    [Fact]
    public async Task A_call_from_outside_cancelled_before_the_server_reached_it_is_never_handled()
    {
        await using var node = new Node();
        var (server, handled, release) = await StartBusyAsync(node);
        using var cancel = new CancellationTokenSource();

        var call = GenServer.CallAsync(server, new Work(1, TimeSpan.Zero), Timeout.InfiniteTimeSpan, cancel.Token).AsTask();
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAsync<CallCanceledException>(() => call);
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.False(HandlerStarted(error));

        await FlushAsync(server, release);
        Assert.False(handled.ContainsKey(1));
    }

    [Fact]
    public async Task A_call_from_a_process_cancelled_before_the_server_reached_it_is_never_handled()
    {
        await using var node = new Node();
        var (server, handled, release) = await StartBusyAsync(node);
        using var cancel = new CancellationTokenSource();
        var calling = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = node.Run(async ctx =>
        {
            var pending = GenServer.CallAsync(server, new Work(1, TimeSpan.Zero), Timeout.InfiniteTimeSpan, cancel.Token);
            calling.SetResult();
            return await Assert.ThrowsAsync<CallCanceledException>(async () => await pending);
        });
        await calling.Task;
        await cancel.CancelAsync();
        var error = await call;
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.False(HandlerStarted(error));

        await FlushAsync(server, release);
        Assert.False(handled.ContainsKey(1));
    }

    [Fact]
    public async Task A_call_given_up_while_its_handler_runs_says_the_handler_had_begun()
    {
        await using var node = new Node();
        var handled = new ConcurrentDictionary<int, bool>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Recorder(handled, entered));
        using var cancel = new CancellationTokenSource();

        var call = GenServer.CallAsync(server, new Hold(1, release.Task), Timeout.InfiniteTimeSpan, cancel.Token).AsTask();
        await entered.Task.WaitAsync(TestKit.Patience);
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAsync<CallCanceledException>(() => call);
        Assert.True(HandlerStarted(error));
        await FlushAsync(server, release);
    }

    /// <summary>Many callers, inside and outside processes, with timeouts about as long as the handlers and tokens
    /// cancelled at random moments: every call reported "not started" was never handled, every call reported
    /// "started" or answered was.</summary>
    [Fact]
    public async Task Under_random_timeouts_and_cancellations_a_call_reported_not_started_is_never_handled()
    {
        await using var node = new Node();
        var handled = new ConcurrentDictionary<int, bool>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Recorder(handled, entered));
        var outcomes = new ConcurrentDictionary<int, string>();
        var nextId = 0;

        // The server starts held, so the first calls to expire surely expire unstarted; it is released
        // once one has been reported so, and the rest of the run races timeouts against handlers.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        GenServer.Cast(server, new Hold(0, release.Task));
        await entered.Task.WaitAsync(TestKit.Patience);

        async Task CallerAsync(int seed)
        {
            var random = new Random(seed);
            for (var i = 0; i < 150; i++)
            {
                var id = Interlocked.Increment(ref nextId);
                var work = new Work(id, TimeSpan.FromTicks(random.Next(0, 2_000)));
                var timeout = TimeSpan.FromTicks(random.Next(5_000, 40_000));
                using var cancel = new CancellationTokenSource();
                var call = GenServer.CallAsync(server, work, timeout, cancel.Token).AsTask();
                if (random.Next(4) == 0)
                {
                    _ = Task.Run(cancel.Cancel);
                }

                try
                {
                    Assert.Equal(id, await call);
                    outcomes[id] = "answered";
                }
                catch (Exception e) when (HandlerStarted(e) is { } started)
                {
                    outcomes[id] = started ? "started" : "not started";
                    if (!started)
                    {
                        release.TrySetResult();
                    }
                }
            }
        }

        var outside = Enumerable.Range(0, 8).Select(seed => Task.Run(() => CallerAsync(seed)));
        var inside = Enumerable.Range(100, 8).Select(seed => node.Run(async _ =>
        {
            await CallerAsync(seed);
            return true;
        }));
        await Task.WhenAll([.. outside, .. inside]).WaitAsync(TestKit.Patience);
        Assert.Equal("flushed", await GenServer.CallAsync<string>(server, "flush", TestKit.Patience));

        Assert.Equal(nextId, outcomes.Count);
        Assert.All(outcomes, pair => Assert.Equal(pair.Value != "not started", handled.ContainsKey(pair.Key)));
        Assert.Contains("not started", outcomes.Values);
        Assert.Contains("answered", outcomes.Values);
    }
}
