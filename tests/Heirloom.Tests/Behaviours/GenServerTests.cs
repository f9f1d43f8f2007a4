using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

public sealed class GenServerTests
{
    /// <summary>A counter server that records its callbacks, as gen_server_SUITE's test servers do.</summary>
    private sealed class Counter(List<string>? log = null) : GenServer
    {
        private readonly List<string> _log = log ?? [];
        private CallFrom? _deferred;
        private int _count;

        public Func<ValueTask<InitResult>>? Init { get; init; }

        protected internal override ValueTask<InitResult> InitAsync()
        {
            Record("init");
            return Init?.Invoke() ?? ValueTask.FromResult(InitResult.Ok);
        }

        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case "get":
                    return CallResult.Reply(_count);
                case "defer":
                    _deferred = from;
                    return CallResult.NoReply;
                case "reply-deferred":
                    // No deferred call when a loaded machine let the caller give up before the server reached it.
                    return CallResult.Reply(_deferred?.Reply("late") ?? false);
                case "stop":
                    return CallResult.Stop(ExitReason.Custom("asked"), "bye");
                case "crash":
                    throw new InvalidOperationException("crash in call");
                case "continue":
                    return CallResult.Reply("soon").ThenContinue("step");
                case "slow":
                    await Task.Delay(200);
                    return CallResult.Reply("slow");
                case "log":
                    lock (_log)
                    {
                        return CallResult.Reply(_log.ToArray());
                    }

                default:
                    return await base.HandleCallAsync(request, from);
            }
        }

        protected internal override ValueTask<ServerResult> HandleCastAsync(object message)
        {
            if (message is int n)
            {
                _count += n;
                return ValueTask.FromResult(ServerResult.Ok);
            }

            return ValueTask.FromResult(message is "stop" ? ServerResult.Stop(ExitReason.Shutdown) : ServerResult.Ok);
        }

        protected internal override ValueTask<ServerResult> HandleInfoAsync(object message)
        {
            Record($"info {message}");
            return ValueTask.FromResult(ServerResult.Ok);
        }

        protected internal override ValueTask<ServerResult> HandleContinueAsync(object argument)
        {
            Record($"continue {argument}");
            return ValueTask.FromResult(ServerResult.Ok);
        }

        protected internal override ValueTask TerminateAsync(ExitReason reason)
        {
            Record($"terminate {reason.Kind} {reason.Term ?? reason.Exception?.Message}");
            return ValueTask.CompletedTask;
        }

        private void Record(string entry)
        {
            lock (_log)
            {
                _log.Add(entry);
            }
        }
    }

    [Fact]
    public async Task Call_and_cast_are_served_in_order()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        GenServer.Cast(server, 2);
        GenServer.Cast(server, 3);
        Assert.Equal(5, await GenServer.CallAsync(server, "get"));
        var fromProcess = await node.Run(async ctx =>
        {
            GenServer.Cast(server, 10);
            return await GenServer.CallAsync(server, "get");
        });
        Assert.Equal(15, fromProcess);
    }

    [Fact]
    public async Task A_failing_init_fails_the_start_with_its_reason_and_spares_the_linked_starter()
    {
        await using var node = new Node();
        var error = await Assert.ThrowsAsync<GenServerStartException>(() =>
            GenServer.StartAsync(node, () => new Counter { Init = () => throw new FormatException("bad config") }));
        Assert.IsType<FormatException>(error.Reason.Exception);
        Assert.Contains("bad config", error.Message);

        var (refused, starterAlive) = await node.Run(async ctx =>
        {
            var e = await Assert.ThrowsAsync<GenServerStartException>(() =>
                GenServer.StartLinkAsync(ctx, () => new Counter { Init = () => ValueTask.FromResult(InitResult.Stop(ExitReason.Custom("no"))) }));
            return (e.Reason, ctx.Self.IsAlive);
        });
        Assert.Equal("no", refused.Term);
        Assert.True(starterAlive);
    }

    [Fact]
    public async Task Ignore_starts_nothing()
    {
        await using var node = new Node();
        var pid = await GenServer.StartAsync(node, () => new Counter { Init = () => ValueTask.FromResult(InitResult.Ignore) });
        Assert.True(pid.IsNone);
    }

    [Fact]
    public async Task A_named_server_is_registered_before_init_and_a_taken_name_fails_the_start()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        Assert.Equal(server, node.WhereIs("counter"));
        GenServer.Cast(node, "counter", 7);
        Assert.Equal(7, await GenServer.CallAsync(node, "counter", "get"));
        var taken = await Assert.ThrowsAsync<NameTakenException>(() => GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" }));
        Assert.Equal("counter", taken.Name);
    }

    [Fact]
    public async Task A_start_that_takes_too_long_is_killed()
    {
        await using var node = new Node();
        var error = await Assert.ThrowsAsync<GenServerStartException>(() => GenServer.StartAsync(
            node,
            () => new Counter { Init = async () => { await Task.Delay(Timeout.Infinite); return InitResult.Ok; } },
            new GenServerOptions { StartTimeout = TimeSpan.FromMilliseconds(50) }));
        Assert.Contains("did not finish InitAsync", error.Message);
    }

    [Fact]
    public async Task A_start_from_a_process_that_times_out_leaves_no_late_acknowledgement_behind()
    {
        await using var node = new Node();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var initReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (error, leftover) = await node.Run(async ctx =>
        {
            var e = await Assert.ThrowsAsync<GenServerStartException>(() => GenServer.StartLinkAsync(
                ctx,
                () => new Counter { Init = async () => { await gate.Task; initReturned.SetResult(); return InitResult.Ok; } },
                new GenServerOptions { StartTimeout = TimeSpan.FromMilliseconds(50) }));

            // The killed server's code runs on past its init, and would acknowledge now if nothing stopped it.
            gate.SetResult();
            await initReturned.Task.WaitAsync(TestKit.Patience);
            return (e, await ctx.ReceiveAsync(static (_, _) => true, null, TimeSpan.FromMilliseconds(200)));
        });
        Assert.Contains("did not finish InitAsync", error.Message);
        Assert.Null(leftover);
    }

    [Fact]
    public async Task A_linked_start_whose_server_is_killed_in_init_fails_at_once_with_the_kill()
    {
        await using var node = new Node();
        var reason = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            var e = await Assert.ThrowsAsync<GenServerStartException>(() => GenServer.StartLinkAsync(
                ctx,
                () => new KilledInInit(),
                new GenServerOptions { StartTimeout = TestKit.Patience }).WaitAsync(TestKit.Patience / 2));
            return e.Reason;
        });
        Assert.Equal(ExitReason.Killed, reason);
    }

    private sealed class KilledInInit : GenServer
    {
        protected internal override async ValueTask<InitResult> InitAsync()
        {
            Context.Node.Exit(Self, ExitReason.Kill);
            await Task.Delay(Timeout.Infinite);
            return InitResult.Ok;
        }
    }

    [Fact]
    public async Task Calls_to_dead_or_unknown_servers_fail_at_once()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        await GenServer.StopAsync(server);
        var outside = await Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(server, "get", Timeout.InfiniteTimeSpan).AsTask().WaitAsync(TestKit.Patience));
        Assert.Equal(ExitReason.NoProc, outside.Reason);
        var inside = await node.Run(ctx => Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(server, "get", Timeout.InfiniteTimeSpan).AsTask()));
        Assert.Equal(ExitReason.NoProc, inside.Reason);
        var unknown = await Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(node, "nobody", "get").AsTask());
        Assert.Contains("'nobody'", unknown.Message);
        Assert.Equal(("nobody", ExitReason.NoProc), (unknown.ServerName, unknown.Reason));
    }

    [Fact]
    public async Task Typed_calls_return_the_reply_or_name_the_mismatch()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "typed" });
        GenServer.Cast(server, 5);
        Assert.Equal(5, await GenServer.CallAsync<int>(server, "get"));
        Assert.Equal(5, await GenServer.CallAsync<int>(node, "typed", "get"));
        var mismatch = await Assert.ThrowsAsync<UnexpectedReplyException>(() => GenServer.CallAsync<string>(node, "typed", "get").AsTask());
        Assert.Equal((5, typeof(string)), (mismatch.Reply, mismatch.ExpectedType));
        Assert.Contains("'typed'", mismatch.Message);
        Assert.Contains("Int32", mismatch.Message);
    }

    [Fact]
    public async Task A_process_calling_itself_fails_at_once()
    {
        await using var node = new Node();
        var error = await node.Run(ctx => Assert.ThrowsAsync<InvalidOperationException>(() => GenServer.CallAsync(ctx.Self, "get", Timeout.InfiniteTimeSpan).AsTask()));
        Assert.Contains("called itself", error.Message);
    }

    [Fact]
    public void A_stop_cannot_be_followed_by_a_continue_step()
    {
        Assert.Throws<InvalidOperationException>(() => ServerResult.Stop(ExitReason.Normal).ThenContinue("x"));
        Assert.Throws<InvalidOperationException>(() => CallResult.Stop(ExitReason.Normal, null).ThenContinue("x"));
        Assert.Throws<InvalidOperationException>(() => InitResult.Ignore.ThenContinue("x"));
        Assert.Throws<InvalidOperationException>(() => InitResult.Stop(ExitReason.Normal).ThenContinue("x"));
    }

    [Fact]
    public async Task A_server_dying_during_a_call_fails_it_with_its_reason()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        var inside = await node.Run(ctx => Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(server, "crash", Timeout.InfiniteTimeSpan).AsTask()));
        Assert.Equal("crash in call", inside.Reason.Exception!.Message);

        var other = await GenServer.StartAsync(node, () => new Counter());
        var pending = GenServer.CallAsync(other, "defer", Timeout.InfiniteTimeSpan).AsTask();
        node.Exit(other, ExitReason.Kill);
        var outside = await Assert.ThrowsAsync<CallFailedException>(() => pending.WaitAsync(TestKit.Patience));
        Assert.Equal(ExitReason.Killed, outside.Reason);
    }

    [Fact]
    public async Task A_timed_out_call_throws_and_its_late_reply_is_dropped()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        var (timeout, lateReplySent, stray) = await node.Run(async ctx =>
        {
            var timeout = await Assert.ThrowsAsync<CallTimeoutException>(() => GenServer.CallAsync(server, "defer", TimeSpan.FromMilliseconds(30)).AsTask());
            var sent = await GenServer.CallAsync(server, "reply-deferred");
            return (timeout, sent, await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(20)));
        });
        Assert.Contains("no reply within 30 ms", timeout.Message);
        Assert.Contains(server.ToString(), timeout.Message);
        Assert.Equal(TimeSpan.FromMilliseconds(30), timeout.Timeout);
        Assert.Equal(false, lateReplySent);
        Assert.Null(stray);

        var outside = await Assert.ThrowsAsync<CallTimeoutException>(() => GenServer.CallAsync(server, "defer", TimeSpan.FromMilliseconds(30)).AsTask());
        Assert.Contains("no reply within 30 ms", outside.Message);
        Assert.Equal(false, await GenServer.CallAsync(server, "reply-deferred"));
    }

    [Fact]
    public async Task A_deferred_reply_reaches_the_caller()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        var deferred = GenServer.CallAsync(server, "defer", Timeout.InfiniteTimeSpan).AsTask();
        Assert.Equal(true, await GenServer.CallAsync(server, "reply-deferred"));
        Assert.Equal("late", await deferred.WaitAsync(TestKit.Patience));
    }

    [Fact]
    public async Task Continue_steps_run_after_init_and_after_a_callback_before_the_next_message()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter { Init = () => ValueTask.FromResult(InitResult.Ok.ThenContinue("boot")) });
        Assert.Equal("soon", await GenServer.CallAsync(server, "continue"));
        server.Send("hello");
        var log = (string[])(await GenServer.CallAsync(server, "log"))!;
        Assert.Equal(["init", "continue boot", "continue step", "info hello"], log);
    }

    [Fact]
    public async Task Stop_from_a_call_replies_then_terminates_with_the_reason()
    {
        await using var node = new Node();
        var log = new List<string>();
        var server = await GenServer.StartAsync(node, () => new Counter(log));
        Assert.Equal("bye", await GenServer.CallAsync(server, "stop"));
        Assert.Equal("asked", (await node.Exited(server)).Term);
        Assert.Equal("terminate Custom asked", log[^1]);
    }

    [Fact]
    public async Task StopAsync_runs_terminate_and_waits_for_the_exit()
    {
        await using var node = new Node();
        var log = new List<string>();
        var server = await GenServer.StartAsync(node, () => new Counter(log));
        await GenServer.StopAsync(server, ExitReason.Shutdown, TestKit.Patience);
        Assert.False(server.IsAlive);
        Assert.Equal("terminate Shutdown ", log[^1]);
        await Assert.ThrowsAsync<CallFailedException>(() => GenServer.StopAsync(server));
    }

    [Fact]
    public async Task A_crashing_callback_runs_terminate_with_the_exception_and_is_reported()
    {
        await using var node = new Node();
        var reports = new List<NodeReport>();
        node.Reported += (_, r) => reports.Add(r);
        var log = new List<string>();
        var server = await GenServer.StartAsync(node, () => new Counter(log));
        GenServer.Cast(server, "unknown-but-ignored");
        await Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(server, 42).AsTask());
        var reason = await node.Exited(server);
        Assert.Contains("does not handle the call 42", reason.Exception!.Message);
        Assert.StartsWith("terminate Exception", log[^1]);
        Assert.IsType<CrashReport>(Assert.Single(reports));
    }

    [Fact]
    public async Task A_trapping_server_terminates_on_its_parents_shutdown_but_not_when_killed()
    {
        await using var node = new Node();
        var log = new List<string>();
        var (parent, server) = await node.Run(async ctx =>
        {
            var child = await GenServer.StartLinkAsync(ctx, () => new Counter(log) { Init = Trap });
            return (ctx.Self, child);
        });
        // As in OTP, a trapping server stops on any exit of its parent, even a normal one.
        await node.Exited(parent);
        Assert.Equal(ExitReason.Normal, await node.Exited(server));
        Assert.Contains("terminate Normal ", log);

        var supervisor = node.Spawn(async ctx =>
        {
            var child = await GenServer.StartLinkAsync(ctx, () => new Counter(log) { Init = Trap });
            ctx.Exit(child, ExitReason.Shutdown);
            await TestKit.Idle(ctx);
        });
        await TestKit.WaitUntil(() => log.Contains("terminate Shutdown "));

        var killedLog = new List<string>();
        var victim = await GenServer.StartAsync(node, () => new Counter(killedLog) { Init = Trap });
        node.Exit(victim, ExitReason.Kill);
        await node.Exited(victim);
        Assert.DoesNotContain(killedLog, e => e.StartsWith("terminate", StringComparison.Ordinal));
        node.Exit(supervisor, ExitReason.Kill);
    }

    [Fact]
    public async Task Cast_never_fails()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        await GenServer.StopAsync(server);
        GenServer.Cast(server, 1);
        GenServer.Cast(node, "nobody", 1);
        Assert.Throws<ArgumentNullException>(() => GenServer.Cast(server, null!));
    }

    [Fact]
    public async Task Many_concurrent_callers_each_get_their_own_reply()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Counter());
        var callers = Enumerable.Range(0, 50).Select(i => node.Run(async ctx =>
        {
            for (var j = 0; j < 200; j++)
            {
                GenServer.Cast(server, 1);
                var value = (int)(await GenServer.CallAsync(server, "get"))!;
                Assert.True(value >= j + 1);
            }

            return true;
        }));
        await Task.WhenAll(callers);
        Assert.Equal(50 * 200, await GenServer.CallAsync(server, "get"));
    }

    private static ValueTask<InitResult> Trap()
    {
        ProcessContext.Current!.TrapExit = true;
        return ValueTask.FromResult(InitResult.Ok);
    }

    [Fact]
    public async Task Calls_under_random_server_kills_either_reply_or_fail_and_leave_no_stray_messages()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        await using var node = new Node();
        var servers = new Pid[4];
        for (var i = 0; i < servers.Length; i++)
        {
            servers[i] = await GenServer.StartAsync(node, () => new Counter());
        }

        using var stop = new CancellationTokenSource();
        var killer = Task.Run(async () =>
        {
            var r = new Random(seed + 1);
            while (!stop.IsCancellationRequested)
            {
                var index = r.Next(servers.Length);
                node.Exit(servers[index], r.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("chaos"));
                servers[index] = await GenServer.StartAsync(node, () => new Counter());
                await Task.Delay(1);
            }
        });

        var callers = Enumerable.Range(0, 16).Select(c => node.Run(async ctx =>
        {
            var r = new Random(seed + 10 + c);
            int replies = 0, failures = 0;
            for (var i = 0; i < 2_000; i++)
            {
                try
                {
                    await GenServer.CallAsync(servers[r.Next(servers.Length)], "get", TimeSpan.FromSeconds(5));
                    replies++;
                }
                catch (CallFailedException)
                {
                    failures++;
                }
            }

            // Every reply and every Down of a call was consumed by its call: nothing is left over.
            Assert.Null(await ctx.ReceiveAsync(TimeSpan.Zero));
            return (replies, failures);
        })).ToArray();
        var results = await Task.WhenAll(callers);
        await stop.CancelAsync();
        await killer;
        Assert.Equal(16 * 2_000, results.Sum(r => r.replies + r.failures));
        Assert.True(results.Sum(r => r.replies) > 0, $"seed {seed}");
    }
}
