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

    [Fact]
    public async Task A_negative_timeout_is_refused()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        Assert.Throws<ArgumentOutOfRangeException>(() => GenServer.CallAsync(server, "ping", TimeSpan.FromMilliseconds(-5)));
    }
}
