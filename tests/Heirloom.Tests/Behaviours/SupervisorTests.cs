using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

public sealed class SupervisorTests
{
    private readonly ConcurrentQueue<string> _events = new();

    /// <summary>A child that logs its start (in init, so in start order) and its orderly stop, and exits with
    /// whatever reason it is sent.</summary>
    private ChildSpec Worker(string id, RestartType restart = RestartType.Permanent) =>
        ChildSpec.ForGenServer(id, () => new LoggingWorker(id, _events)) with { Restart = restart };

    private sealed class LoggingWorker(string id, ConcurrentQueue<string> events) : GenServer
    {
        protected internal override ValueTask<InitResult> InitAsync()
        {
            Context.TrapExit = true;
            events.Enqueue($"start {id}");
            return ValueTask.FromResult(InitResult.Ok);
        }

        protected internal override ValueTask<ServerResult> HandleInfoAsync(object message) =>
            ValueTask.FromResult(message is ExitReason reason ? ServerResult.Stop(reason) : ServerResult.Ok);

        protected internal override ValueTask TerminateAsync(ExitReason reason)
        {
            if (reason == ExitReason.Shutdown)
            {
                events.Enqueue($"stop {id}");
            }

            return ValueTask.CompletedTask;
        }
    }

    private static async Task<Pid> ChildPid(Pid supervisor, string id) =>
        (await Supervisor.WhichChildrenAsync(supervisor)).Single(c => c.Id == id).Pid;

    private static async Task<Pid> WaitForNewPid(Pid supervisor, string id, Pid old)
    {
        Pid current = default;
        await TestKit.WaitUntil(() =>
        {
            current = ChildPid(supervisor, id).GetAwaiter().GetResult();
            return !current.IsNone && current != old;
        });
        return current;
    }

    [Fact]
    public async Task Children_start_in_order_and_stop_in_reverse()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Children = [Worker("a"), Worker("b"), Worker("c")] });
        Assert.Equal(["a", "b", "c"], (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Id));
        Assert.Equal(new ChildCounts(3, 3, 0, 3), await Supervisor.CountChildrenAsync(sup));
        await GenServer.StopAsync(sup, ExitReason.Shutdown);
        Assert.Equal(["start a", "start b", "start c", "stop c", "stop b", "stop a"], _events);
    }

    [Fact]
    public async Task A_failing_child_start_fails_the_supervisor_and_stops_the_started_children()
    {
        await using var node = new Node();
        var bad = new ChildSpec("bad", (_, _) => throw new InvalidOperationException("cannot start"));
        var error = await Assert.ThrowsAsync<GenServerStartException>(() =>
            Supervisor.StartAsync(node, new SupervisorOptions { Children = [Worker("a"), bad, Worker("c")] }));
        var inner = Assert.IsType<SupervisorException>(error.Reason.Exception);
        Assert.Equal(SupervisorError.StartFailed, inner.Error);
        Assert.Contains("cannot start", inner.Message);
        Assert.Equal(["start a", "stop a"], _events);
    }

    [Theory]
    [InlineData(SupervisorStrategy.OneForOne, 2)]
    [InlineData(SupervisorStrategy.SimpleOneForOne, 2)]
    [InlineData(SupervisorStrategy.OneForOne, -1)]
    public async Task Invalid_options_fail_the_start_with_a_clear_reason(SupervisorStrategy strategy, int intensity)
    {
        await using var node = new Node();
        var children = strategy == SupervisorStrategy.SimpleOneForOne ? [Worker("a"), Worker("b")] : new[] { Worker("a"), Worker("a") };
        var error = await Assert.ThrowsAsync<GenServerStartException>(() =>
            Supervisor.StartAsync(node, new SupervisorOptions { Strategy = strategy, Intensity = intensity, Children = children }));
        var inner = Assert.IsType<SupervisorException>(error.Reason.Exception);
        Assert.Equal(SupervisorError.InvalidSpec, inner.Error);
    }

    [Theory]
    [InlineData(RestartType.Permanent, ExitReasonKind.Normal, true)]
    [InlineData(RestartType.Permanent, ExitReasonKind.Custom, true)]
    [InlineData(RestartType.Transient, ExitReasonKind.Normal, false)]
    [InlineData(RestartType.Transient, ExitReasonKind.Shutdown, false)]
    [InlineData(RestartType.Transient, ExitReasonKind.Custom, true)]
    [InlineData(RestartType.Temporary, ExitReasonKind.Custom, false)]
    public async Task One_for_one_restarts_by_restart_type(RestartType restart, ExitReasonKind how, bool restarted)
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Intensity = 5, Children = [Worker("a", restart), Worker("b")] });
        var a = await ChildPid(sup, "a");
        var b = await ChildPid(sup, "b");
        a.Send(how switch { ExitReasonKind.Normal => ExitReason.Normal, ExitReasonKind.Shutdown => ExitReason.Shutdown, _ => ExitReason.Custom("crash") });
        await node.Exited(a);
        if (restarted)
        {
            await WaitForNewPid(sup, "a", a);
        }
        else
        {
            // A call is served after the Exit, so the supervisor has handled it.
            var children = await Supervisor.WhichChildrenAsync(sup);
            Assert.Equal(restart == RestartType.Temporary ? ["b"] : ["a", "b"], children.Select(c => c.Id));
            Assert.All(children.Where(c => c.Id == "a"), c => Assert.True(c.Pid.IsNone));
        }

        Assert.Equal(b, await ChildPid(sup, "b"));
    }

    [Fact]
    public async Task One_for_all_restarts_every_child_in_order()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Strategy = SupervisorStrategy.OneForAll, Children = [Worker("a"), Worker("b"), Worker("c")] });
        var before = (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Pid).ToArray();
        before[1].Send(ExitReason.Custom("crash"));
        await WaitForNewPid(sup, "c", before[2]);
        var after = (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Pid).ToArray();
        Assert.All(after, p => Assert.DoesNotContain(p, before));
        Assert.Equal(["start a", "start b", "start c", "stop c", "stop a", "start a", "start b", "start c"], _events);
    }

    [Fact]
    public async Task Rest_for_one_restarts_the_child_and_those_started_after_it()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Strategy = SupervisorStrategy.RestForOne, Children = [Worker("a"), Worker("b"), Worker("c")] });
        var before = (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Pid).ToArray();
        before[1].Send(ExitReason.Custom("crash"));
        await WaitForNewPid(sup, "c", before[2]);
        var after = (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Pid).ToArray();
        Assert.Equal(before[0], after[0]);
        Assert.NotEqual(before[1], after[1]);
        Assert.Equal(["start a", "start b", "start c", "stop c", "start b", "start c"], _events);
    }

    [Fact]
    public async Task Simple_one_for_one_starts_dynamic_children_and_restarts_them_with_their_argument()
    {
        await using var node = new Node();
        var started = new ConcurrentQueue<object?>();
        var template = new ChildSpec("conn", (ctx, arg) =>
        {
            started.Enqueue(arg);
            return Task.FromResult(ctx.SpawnLink(TestKit.ExitWhenTold));
        })
        { Restart = RestartType.Transient };
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Strategy = SupervisorStrategy.SimpleOneForOne, Intensity = 10, Children = [template] });
        var one = await Supervisor.StartChildAsync(sup, (object?)1);
        var two = await Supervisor.StartChildAsync(sup, (object?)2);
        Assert.Equal(new ChildCounts(1, 2, 0, 2), await Supervisor.CountChildrenAsync(sup));

        one.Send(ExitReason.Custom("crash"));
        await TestKit.WaitUntil(() => started.Count == 3);
        Assert.Equal([1, 2, 1], started);
        two.Send(ExitReason.Normal);
        await node.Exited(two);
        await TestKit.WaitUntil(() => Supervisor.CountChildrenAsync(sup).GetAwaiter().GetResult().Active == 1);

        var survivor = (await Supervisor.WhichChildrenAsync(sup)).Single();
        Assert.Null(survivor.Id);
        await Supervisor.TerminateChildAsync(sup, survivor.Pid);
        Assert.Empty(await Supervisor.WhichChildrenAsync(sup));

        var wrong = await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.StartChildAsync(sup, Worker("x")));
        Assert.Equal(SupervisorError.WrongStrategy, wrong.Error);
        Assert.Equal(SupervisorError.WrongStrategy, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.TerminateChildAsync(sup, "x"))).Error);
        Assert.Equal(SupervisorError.NotFound, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.TerminateChildAsync(sup, survivor.Pid))).Error);
    }

    [Fact]
    public async Task Exceeding_the_intensity_stops_the_children_and_the_supervisor_with_shutdown()
    {
        await using var node = new Node();
        var reports = new ConcurrentQueue<NodeReport>();
        node.Reported += (_, r) => reports.Enqueue(r);
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Intensity = 1, Period = TimeSpan.FromMinutes(1), Children = [Worker("a"), Worker("b")] });
        var a = await ChildPid(sup, "a");
        a.Send(ExitReason.Custom("crash 1"));
        var a2 = await WaitForNewPid(sup, "a", a);
        a2.Send(ExitReason.Custom("crash 2"));
        Assert.Equal(ExitReason.Shutdown, await node.Exited(sup));
        Assert.Contains("stop b", _events);
        var supervisorReports = reports.OfType<SupervisorReport>().ToArray();
        Assert.Equal([SupervisorEvent.ChildTerminated, SupervisorEvent.ChildRestarted, SupervisorEvent.ChildTerminated, SupervisorEvent.MaxIntensityReached], supervisorReports.Select(r => r.Event));

        // Each report names the child and the reason that led to it: the pid that exited, then its replacement.
        Assert.All(supervisorReports, r => Assert.Equal("a", r.ChildId));
        Assert.Equal([a, a2, a2, Pid.None], supervisorReports.Select(r => r.Child));
        Assert.Equal([ExitReason.Custom("crash 1"), ExitReason.Custom("crash 1"), ExitReason.Custom("crash 2"), ExitReason.Custom("crash 2")], supervisorReports.Select(r => r.Reason));
    }

    [Fact]
    public async Task Intensity_zero_gives_up_on_the_first_exit()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Intensity = 0, Children = [Worker("a")] });
        (await ChildPid(sup, "a")).Send(ExitReason.Normal);
        Assert.Equal(ExitReason.Shutdown, await node.Exited(sup));
    }

    [Fact]
    public async Task Shutdown_timeouts_are_honoured_and_brutal_kill_kills()
    {
        await using var node = new Node();
        var stubborn = ChildSpec.ForProcess("stubborn", async ctx =>
        {
            ctx.TrapExit = true;
            await TestKit.Idle(ctx);
        }) with
        { Shutdown = ChildShutdown.After(TimeSpan.FromMilliseconds(100)) };
        var polite = Worker("polite") with { Shutdown = ChildShutdown.After(TimeSpan.FromSeconds(30)) };
        var brutal = Worker("brutal") with { Shutdown = ChildShutdown.BrutalKill };
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Children = [stubborn, polite, brutal] });
        var pids = (await Supervisor.WhichChildrenAsync(sup)).ToDictionary(c => c.Id!, c => c.Pid);
        await TestKit.WaitUntil(() => node.GetProcessInfo(pids["stubborn"])?.TrapExit == true);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Supervisor.TerminateChildAsync(sup, "stubborn");
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(100), $"killed after {watch.Elapsed}");
        Assert.Equal(ExitReason.Killed, await node.Exited(pids["stubborn"]));
        await Supervisor.TerminateChildAsync(sup, "polite");
        Assert.Equal(ExitReason.Shutdown, await node.Exited(pids["polite"]));
        await Supervisor.TerminateChildAsync(sup, "brutal");
        Assert.Equal(ExitReason.Killed, await node.Exited(pids["brutal"]));
        Assert.True(sup.IsAlive);
    }

    [Fact]
    public async Task Child_management_requests_follow_otp()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Children = [Worker("a")] });
        var running = await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.StartChildAsync(sup, Worker("a")));
        Assert.Equal(SupervisorError.Running, running.Error);

        var b = await Supervisor.StartChildAsync(sup, Worker("b"));
        Assert.Equal(b, await ChildPid(sup, "b"));
        Assert.Equal(SupervisorError.Running, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.DeleteChildAsync(sup, "b"))).Error);
        Assert.Equal(SupervisorError.Running, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.RestartChildAsync(sup, "b"))).Error);

        await Supervisor.TerminateChildAsync(sup, "b");
        Assert.Equal(SupervisorError.AlreadyPresent, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.StartChildAsync(sup, Worker("b")))).Error);
        var b2 = await Supervisor.RestartChildAsync(sup, "b");
        Assert.NotEqual(b, b2);
        await Supervisor.TerminateChildAsync(sup, "b");
        await Supervisor.DeleteChildAsync(sup, "b");
        Assert.Equal(["a"], (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Id));

        Assert.Equal(SupervisorError.NotFound, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.TerminateChildAsync(sup, "zz"))).Error);
        Assert.Equal(SupervisorError.NotFound, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.RestartChildAsync(sup, "zz"))).Error);
        Assert.Equal(SupervisorError.NotFound, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.DeleteChildAsync(sup, "zz"))).Error);
        Assert.Equal(SupervisorError.WrongStrategy, (await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.StartChildAsync(sup, (object?)1))).Error);
        var failing = await Assert.ThrowsAsync<SupervisorException>(() => Supervisor.StartChildAsync(sup, new ChildSpec("f", (_, _) => throw new IOException("disk"))));
        Assert.Equal(SupervisorError.StartFailed, failing.Error);
        Assert.IsType<IOException>(failing.InnerException);
        Assert.Equal(["a"], (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Id));
    }

    [Fact]
    public async Task A_child_start_returning_ignore_keeps_the_spec_without_a_process()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Children = [new ChildSpec("ignored", (_, _) => Task.FromResult(Pid.None))] });
        var child = Assert.Single(await Supervisor.WhichChildrenAsync(sup));
        Assert.True(child.Pid.IsNone);
        Assert.Equal(new ChildCounts(1, 0, 0, 1), await Supervisor.CountChildrenAsync(sup));
    }

    [Fact]
    public async Task A_nested_supervisor_that_gives_up_is_restarted_by_its_parent()
    {
        await using var node = new Node();
        var inner = new SupervisorOptions { Intensity = 0, Children = [Worker("leaf")] };
        var root = await Supervisor.StartAsync(node, new SupervisorOptions { Intensity = 5, Children = [ChildSpec.ForSupervisor("inner", inner), Worker("sibling")] });
        Assert.Equal(new ChildCounts(2, 2, 1, 1), await Supervisor.CountChildrenAsync(root));
        var innerPid = await ChildPid(root, "inner");
        var leaf = await ChildPid(innerPid, "leaf");
        var sibling = await ChildPid(root, "sibling");

        leaf.Send(ExitReason.Custom("crash"));
        Assert.Equal(ExitReason.Shutdown, await node.Exited(innerPid));
        var newInner = await WaitForNewPid(root, "inner", innerPid);
        Assert.False((await ChildPid(newInner, "leaf")).IsNone);
        Assert.Equal(sibling, await ChildPid(root, "sibling"));

        await GenServer.StopAsync(root, ExitReason.Shutdown);
        Assert.False(newInner.IsAlive);
    }

    [Fact]
    public async Task A_child_that_cannot_restart_is_retried_until_the_intensity_stops_the_supervisor()
    {
        await using var node = new Node();
        var attempts = 0;
        var flaky = new ChildSpec("flaky", (ctx, _) =>
            Interlocked.Increment(ref attempts) == 1
                ? Task.FromResult(ctx.SpawnLink(TestKit.ExitWhenTold))
                : throw new InvalidOperationException("no longer starts"));
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions { Intensity = 3, Period = TimeSpan.FromMinutes(1), Children = [flaky] });
        (await ChildPid(sup, "flaky")).Send(ExitReason.Custom("crash"));
        Assert.Equal(ExitReason.Shutdown, await node.Exited(sup));
        Assert.Equal(4, attempts);
    }

    [Fact]
    public async Task A_supervisor_tree_survives_random_crashes_under_load()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Strategy = SupervisorStrategy.OneForOne,
            Intensity = 10_000,
            Children = Enumerable.Range(0, 8).Select(i => ChildSpec.ForGenServer($"w{i}", () => new Echo())).ToArray(),
        });
        for (var round = 0; round < 300; round++)
        {
            var children = await Supervisor.WhichChildrenAsync(sup);
            var victim = children[random.Next(children.Count)].Pid;
            if (!victim.IsNone)
            {
                node.Exit(victim, random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("chaos"));
            }

            var target = children[random.Next(children.Count)].Pid;
            if (!target.IsNone)
            {
                try
                {
                    Assert.Equal(round, await GenServer.CallAsync(target, round));
                }
                catch (CallFailedException)
                {
                    // The target was the victim, or died with it: the call must fail, never hang.
                }
            }
        }

        await TestKit.WaitUntil(() => Supervisor.CountChildrenAsync(sup).GetAwaiter().GetResult().Active == 8);
        Assert.True(sup.IsAlive, $"seed {seed}");
    }

    private sealed class Echo : GenServer
    {
        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(request));
    }

    public static TheoryData<SupervisorStrategy, RestartType, ExitReasonKind> RestartMatrix()
    {
        var data = new TheoryData<SupervisorStrategy, RestartType, ExitReasonKind>();
        foreach (var strategy in new[] { SupervisorStrategy.OneForOne, SupervisorStrategy.OneForAll, SupervisorStrategy.RestForOne })
        {
            foreach (var restart in Enum.GetValues<RestartType>())
            {
                foreach (var how in new[] { ExitReasonKind.Normal, ExitReasonKind.Shutdown, ExitReasonKind.Custom })
                {
                    data.Add(strategy, restart, how);
                }
            }
        }

        return data;
    }

    /// <summary>supervisor_SUITE's restart matrix: the middle of three children exits; whether it is restarted
    /// depends on its restart type and reason, and whether its siblings are restarted with it on the strategy.</summary>
    [Theory]
    [MemberData(nameof(RestartMatrix))]
    public async Task Each_restart_type_under_each_strategy(SupervisorStrategy strategy, RestartType restart, ExitReasonKind how)
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Strategy = strategy,
            Intensity = 10,
            Children = [Worker("a"), Worker("b", restart), Worker("c")],
        });
        var before = (await Supervisor.WhichChildrenAsync(sup)).ToDictionary(c => c.Id!, c => c.Pid);
        var reason = how switch { ExitReasonKind.Normal => ExitReason.Normal, ExitReasonKind.Shutdown => ExitReason.Shutdown, _ => ExitReason.Custom("crash") };
        before["b"].Send(reason);
        await node.Exited(before["b"]);

        var restarted = restart == RestartType.Permanent || (restart == RestartType.Transient && how == ExitReasonKind.Custom);
        if (restarted)
        {
            await WaitForNewPid(sup, "b", before["b"]);
            if (strategy == SupervisorStrategy.RestForOne)
            {
                await WaitForNewPid(sup, "c", before["c"]);
            }
        }

        // A call is served after the supervisor handled the exit and any restarts.
        var after = (await Supervisor.WhichChildrenAsync(sup)).ToDictionary(c => c.Id!, c => c.Pid);
        if (!restarted)
        {
            Assert.Equal(restart != RestartType.Temporary, after.ContainsKey("b"));
            Assert.Equal(before["a"], after["a"]);
            Assert.Equal(before["c"], after["c"]);
            return;
        }

        Assert.NotEqual(before["b"], after["b"]);
        Assert.Equal(strategy == SupervisorStrategy.OneForAll, before["a"] != after["a"]);
        Assert.Equal(strategy != SupervisorStrategy.OneForOne, before["c"] != after["c"]);
    }
}
