using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>Calls from outside any process: pooled reply slots, a shared timer and an exit watch that is no process,
/// under many threads and random interleavings of replies, timeouts, cancellations and kills.</summary>
public sealed class OutsideCallTests
{
    /// <summary>Echoes a request, holds "hold" (keeping its <see cref="CallFrom"/> for the test), echoes after a short
    /// spin for a <see cref="Spin"/>.</summary>
    private sealed class Server(Action<CallFrom>? held = null) : GenServer
    {
        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case "hold":
                    held?.Invoke(from);
                    return ValueTask.FromResult(CallResult.NoReply);
                case Spin spin:
                    Thread.SpinWait(spin.Iterations);
                    return ValueTask.FromResult(CallResult.Reply(spin));
                default:
                    return ValueTask.FromResult(CallResult.Reply(request));
            }
        }
    }

    private sealed record Spin(int Caller, int Call, int Iterations);

    [Fact]
    public async Task Many_threads_calling_with_random_timeouts_and_tokens_each_get_their_own_reply_or_a_give_up()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        var (answered, gaveUp) = (0, 0);

        async Task CallerAsync(int caller)
        {
            var random = new Random(caller);
            for (var i = 0; i < 400; i++)
            {
                var request = new Spin(caller, i, random.Next(0, 3_000));
                var timeout = random.Next(3) switch
                {
                    0 => Timeout.InfiniteTimeSpan,
                    1 => GenServer.DefaultCallTimeout,
                    _ => TimeSpan.FromTicks(random.Next(1_000, 20_000)),
                };
                using var cancel = new CancellationTokenSource();
                var call = GenServer.CallAsync(server, request, timeout, random.Next(5) == 0 ? cancel.Token : default);
                if (random.Next(10) == 0)
                {
                    _ = Task.Run(cancel.Cancel);
                }

                try
                {
                    // The reply is this call's own: a slot reused by the next call never gets an earlier call's reply.
                    Assert.Equal(request, await call);
                    Interlocked.Increment(ref answered);
                }
                catch (Exception e) when (e is CallTimeoutException or CallCanceledException)
                {
                    Interlocked.Increment(ref gaveUp);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(caller => Task.Run(() => CallerAsync(caller)))).WaitAsync(TestKit.Patience);
        Assert.Equal(16 * 400, answered + gaveUp);
        Assert.True(answered > 0);
    }

    /// <summary>A reply and a kill race: the caller gets the reply exactly when it was claimed, and otherwise the
    /// server's exit, never both and never neither.</summary>
    [Fact]
    public async Task A_reply_claimed_before_a_kill_reaches_the_caller_and_one_not_claimed_fails_with_the_kill()
    {
        await using var node = new Node();
        for (var round = 0; round < 200; round++)
        {
            var held = new TaskCompletionSource<CallFrom>(TaskCreationOptions.RunContinuationsAsynchronously);
            var server = await GenServer.StartAsync(node, () => new Server(held.SetResult));
            var call = GenServer.CallAsync(server, "hold", Timeout.InfiniteTimeSpan).AsTask();
            var from = await held.Task.WaitAsync(TestKit.Patience);

            using var start = new Barrier(2);
            var reply = Task.Run(() =>
            {
                start.SignalAndWait();
                return from.Reply("claimed");
            });
            var kill = Task.Run(() =>
            {
                start.SignalAndWait();
                node.Exit(server, ExitReason.Kill);
            });
            await Task.WhenAll(reply, kill).WaitAsync(TestKit.Patience);

            if (await reply)
            {
                Assert.Equal("claimed", await call.WaitAsync(TestKit.Patience));
            }
            else
            {
                var error = await Assert.ThrowsAsync<CallFailedException>(() => call.WaitAsync(TestKit.Patience));
                Assert.Equal((ExitReason.Killed, true), (error.Reason, error.HandlerStarted));
            }
        }
    }

    [Fact]
    public async Task Calls_waiting_on_a_server_that_is_killed_all_fail_with_its_reason_and_none_hangs()
    {
        await using var node = new Node();
        var holding = 0;
        var allHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Server(_ =>
        {
            if (++holding == 100)
            {
                allHeld.SetResult();
            }
        }));
        var calls = Enumerable.Range(0, 100).Select(i => Task.Run(() => GenServer.CallAsync(server, "hold", i % 2 == 0 ? Timeout.InfiniteTimeSpan : TestKit.Patience).AsTask())).ToArray();
        await allHeld.Task.WaitAsync(TestKit.Patience);
        node.Exit(server, ExitReason.Kill);

        foreach (var call in calls)
        {
            var error = await Assert.ThrowsAsync<CallFailedException>(() => call.WaitAsync(TestKit.Patience));
            Assert.Equal(ExitReason.Killed, error.Reason);
        }
    }

    [Fact]
    public async Task A_thread_blocking_on_an_outside_call_gets_its_reply()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        var replies = await Task.Run(() => Enumerable.Range(0, 200).Select(i => GenServer.CallAsync(server, i).GetAwaiter().GetResult()).ToArray()).WaitAsync(TestKit.Patience);
        Assert.Equal(Enumerable.Range(0, 200).Cast<object?>(), replies);
    }

    /// <summary>Answers what its handler sees of the thread it runs on; "ping" casts to <paramref name="next"/>.</summary>
    private sealed class Observer(AsyncLocal<string> local, Pid next = default) : GenServer
    {
        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            if (request is "ping")
            {
                Cast(next, Environment.CurrentManagedThreadId);
                return CallResult.Reply(Environment.CurrentManagedThreadId);
            }

            var seen = (local.Value, SynchronizationContext.Current, Environment.CurrentManagedThreadId);
            local.Value = "set by the server";
            await Task.Yield();
            return CallResult.Reply(seen);
        }
    }

    /// <summary>Answers "where" with the thread that handled the cast before it.</summary>
    private sealed class Recorder : GenServer
    {
        private int _castThread;

        protected internal override ValueTask<ServerResult> HandleCastAsync(object request)
        {
            _castThread = Environment.CurrentManagedThreadId;
            return ValueTask.FromResult(ServerResult.Ok);
        }

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(_castThread));
    }

    private sealed class RecordingContext : SynchronizationContext
    {
        public int Posts;

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref Posts);
            base.Post(d, state);
        }
    }

    [Fact]
    public async Task A_server_run_on_the_callers_thread_sees_none_of_the_callers_context_and_leaves_none_behind()
    {
        await using var node = new Node();
        var local = new AsyncLocal<string>();
        var server = await GenServer.StartAsync(node, () => new Observer(local));
        var context = new RecordingContext();

        for (var i = 0; i < 200; i++)
        {
            // On a thread of its own, with an async-local value and a synchronization context of the caller's: the
            // server, idle, may run on this thread, but must not see either, nor post its continuation to it.
            var (seenLocal, seenContext, callerSaw) = await Task.Factory.StartNew(
                () =>
                {
                    local.Value = "the caller's";
                    SynchronizationContext.SetSynchronizationContext(context);
                    var reply = ((string?, SynchronizationContext?, int))GenServer.CallAsync(server, "look").AsTask().GetAwaiter().GetResult()!;
                    var after = (local.Value, SynchronizationContext.Current);
                    SynchronizationContext.SetSynchronizationContext(null);
                    return (reply.Item1, reply.Item2, after);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);

            Assert.Null(seenLocal);
            Assert.Null(seenContext);
            Assert.Equal(("the caller's", (SynchronizationContext?)context), callerSaw);
        }

        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task A_process_woken_by_a_server_run_on_the_callers_thread_runs_on_the_pool()
    {
        await using var node = new Node();
        var recorder = await GenServer.StartAsync(node, () => new Recorder());
        var server = await GenServer.StartAsync(node, () => new Observer(new AsyncLocal<string>(), recorder));
        var ranHere = 0;
        for (var i = 0; i < 200; i++)
        {
            var caller = await Task.Factory.StartNew(
                () =>
                {
                    var handler = GenServer.CallAsync<int>(server, "ping").AsTask().GetAwaiter().GetResult();
                    return (Environment.CurrentManagedThreadId, handler);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            var castHandledOn = await GenServer.CallAsync<int>(recorder, "where");
            ranHere += caller.handler == caller.CurrentManagedThreadId ? 1 : 0;

            // The server may have run on the caller's thread; the recorder it woke never does.
            Assert.NotEqual(caller.CurrentManagedThreadId, castHandledOn);
        }

        Assert.True(ranHere > 0, "the idle server never ran on its caller's thread");
    }

    [Fact]
    public async Task A_negative_timeout_is_refused()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        Assert.Throws<ArgumentOutOfRangeException>(() => GenServer.CallAsync(server, "ping", TimeSpan.FromMilliseconds(-5)));
    }
}
