using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Processes;

public sealed class NodeTests
{
    [Fact]
    public async Task Process_info_counts_the_messages_a_process_took_and_sent_and_names_its_behaviour()
    {
        await using var node = new Node();
        var echo = node.Spawn(async ctx =>
        {
            while (await ctx.ReceiveAsync() is Pid from)
            {
                from.Send("pong");
            }
        });
        var info = await node.Run(async ctx =>
        {
            for (var i = 0; i < 3; i++)
            {
                echo.Send(ctx.Self);
                await ctx.ReceiveAsync();
            }

            ctx.Self.Send("kept");
            return node.GetProcessInfo(ctx.Self)!;
        });
        Assert.Equal(3, info.MessagesIn);
        Assert.Equal(4, info.MessagesOut);
        Assert.Equal(1, info.MessageQueueLength);
        Assert.Null(info.Behaviour);
        var echoInfo = node.GetProcessInfo(echo)!;
        Assert.Equal(3, echoInfo.MessagesIn);
        Assert.Equal(3, echoInfo.MessagesOut);

        var supervisor = await Supervisor.StartAsync(node, new SupervisorOptions());
        Assert.Equal(typeof(Supervisor), node.GetProcessInfo(supervisor)!.Behaviour);
    }

    [Fact]
    public async Task Names_register_resolve_and_are_freed_when_the_process_dies()
    {
        await using var node = new Node();
        var pid = node.Spawn(TestKit.ExitWhenTold);
        node.Register("worker", pid);
        Assert.Equal(pid, node.WhereIs("worker"));
        Assert.Equal("worker", node.GetProcessInfo(pid)!.RegisteredName);
        node.Send("worker", ExitReason.Normal);
        await node.Exited(pid);
        Assert.True(node.WhereIs("worker").IsNone);

        var next = node.Spawn(TestKit.Idle);
        node.Register("worker", next);
        Assert.Equal(next, node.WhereIs("worker"));
    }

    [Fact]
    public async Task Taken_names_second_names_and_dead_pids_are_rejected()
    {
        await using var node = new Node();
        var a = node.Spawn(TestKit.Idle);
        var b = node.Spawn(TestKit.Idle);
        node.Register("a", a);
        var taken = Assert.Throws<NameTakenException>(() => node.Register("a", b));
        Assert.Contains("taken", taken.Message);
        var second = Assert.Throws<NameTakenException>(() => node.Register("other", a));
        Assert.Contains("already registered as 'a'", second.Message);

        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);
        Assert.Throws<NoProcessException>(() => node.Register("dead", dead));
        Assert.True(node.WhereIs("dead").IsNone);
        Assert.Throws<ArgumentException>(() => node.Register("", a));
    }

    [Fact]
    public async Task Unregister_frees_the_name_and_the_process_can_take_another()
    {
        await using var node = new Node();
        var a = node.Spawn(TestKit.Idle);
        node.Register("a", a);
        Assert.True(node.Unregister("a"));
        Assert.False(node.Unregister("a"));
        Assert.True(node.WhereIs("a").IsNone);
        node.Register("b", a);
        Assert.Equal(a, node.WhereIs("b"));
        Assert.Equal("b", node.RegisteredNames().Single().Key);
    }

    [Fact]
    public async Task An_unhandled_exception_is_the_reason_and_is_reported_once()
    {
        await using var node = new Node();
        var reports = new List<NodeReport>();
        node.Reported += (_, report) =>
        {
            lock (reports)
            {
                reports.Add(report);
            }
        };
        node.Reported += (_, _) => throw new InvalidOperationException("a broken hook is ignored");
        var pid = node.Spawn(async ctx =>
        {
            await ctx.ReceiveAsync(m => m is "crash");
            throw new FormatException("bad input");
        });
        node.Register("crasher", pid);
        pid.Send("crash");
        var reason = await node.Exited(pid);
        Assert.IsType<FormatException>(reason.Exception);
        var report = Assert.IsType<CrashReport>(Assert.Single(reports));
        Assert.Equal(pid, report.Pid);
        Assert.Equal("crasher", report.RegisteredName);
        Assert.Same(reason.Exception, report.Exception);

        var quiet = node.Spawn(_ => throw new ProcessExitException(ExitReason.Shutdown));
        Assert.Equal(ExitReason.Shutdown, await node.Exited(quiet));
        Assert.Single(reports);
    }

    [Fact]
    public async Task Introspection_lists_processes_and_describes_one()
    {
        await using var node = new Node();
        var watched = node.Spawn(TestKit.Idle);
        var info = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            ctx.Link(watched);
            ctx.Monitor(watched);
            node.Register("inspector", ctx.Self);
            ctx.Self.Send("one");
            ctx.Self.Send("two");
            await Task.Yield();
            return node.GetProcessInfo(ctx.Self)!;
        });
        Assert.Equal("inspector", info.RegisteredName);
        Assert.Equal([watched], info.Links);
        Assert.Equal([watched], info.Monitors);
        Assert.Equal(2, info.MessageQueueLength);
        Assert.True(info.TrapExit);
        Assert.Equal(ProcessStatus.Running, info.Status);
        Assert.Contains(watched, node.Processes());
        await TestKit.WaitUntil(() => node.GetProcessInfo(watched)?.MonitoredBy.Count == 0);
        var finished = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(finished);
        Assert.Null(node.GetProcessInfo(finished));
        Assert.DoesNotContain(finished, node.Processes());
    }

    [Fact]
    public async Task Dispose_stops_processes_with_shutdown_and_kills_those_that_ignore_it()
    {
        var node = new Node { ShutdownTimeout = TimeSpan.FromMilliseconds(300) };
        var plain = node.Spawn(TestKit.Idle);
        var cleanedUp = new TaskCompletionSource<ExitReason>();
        var polite = node.Spawn(async ctx =>
        {
            ctx.TrapExit = true;
            var exit = await ctx.Receive<ExitSignal>();
            cleanedUp.SetResult(exit.Reason);
        });
        var stubborn = node.Spawn(async ctx =>
        {
            ctx.TrapExit = true;
            await TestKit.Idle(ctx);
        });
        await TestKit.WaitUntil(() => node.GetProcessInfo(stubborn)?.TrapExit == true && node.GetProcessInfo(polite)?.TrapExit == true);
        await node.DisposeAsync();
        Assert.Equal(ExitReason.Shutdown, await node.Exited(plain));
        Assert.Equal(ExitReason.Shutdown, await cleanedUp.Task);
        Assert.Equal(ExitReason.Killed, await node.Exited(stubborn));
        Assert.Equal(0, node.ProcessCount);
        Assert.Throws<ObjectDisposedException>(() => node.Spawn(TestKit.Idle));
    }
}
