using Heirloom.Processes;

namespace Heirloom.Tests.Processes;

public sealed class LinkTests
{
    [Fact]
    public async Task A_crash_kills_a_non_trapping_linked_process_with_the_same_reason()
    {
        await using var node = new Node();
        var partner = node.Spawn(TestKit.Idle);
        var crasher = node.Spawn(async ctx =>
        {
            ctx.Link(partner);
            await ctx.ReceiveAsync(m => m is "crash");
            throw new InvalidOperationException("boom");
        });
        await WaitUntilLinked(node, crasher, partner);
        crasher.Send("crash");
        var reason = await node.Exited(partner);
        Assert.Equal(ExitReasonKind.Exception, reason.Kind);
        Assert.Equal("boom", reason.Exception!.Message);
    }

    [Fact]
    public async Task A_normal_exit_does_not_kill_a_linked_process()
    {
        await using var node = new Node();
        var partner = node.Spawn(TestKit.Idle);
        var child = node.Spawn(async ctx =>
        {
            ctx.Link(partner);
            await ctx.ReceiveAsync(m => m is "stop");
        });
        await WaitUntilLinked(node, child, partner);
        child.Send("stop");
        Assert.Equal(ExitReason.Normal, await node.Exited(child));
        Assert.True(partner.IsAlive);
        Assert.Empty(node.GetProcessInfo(partner)!.Links);
    }

    [Fact]
    public async Task A_trapping_process_receives_exits_as_messages_even_normal_ones()
    {
        await using var node = new Node();
        var exits = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            var crash = ctx.SpawnLink(_ => throw new ProcessExitException(ExitReason.Custom("bad")));
            var normal = ctx.SpawnLink(_ => Task.CompletedTask);
            var first = await ctx.Receive<ExitSignal>();
            var second = await ctx.Receive<ExitSignal>();
            return new[] { first, second }.ToDictionary(e => e.From, e => e.Reason);
        });
        Assert.Contains(exits.Values, r => r.IsNormal);
        Assert.Contains(exits.Values, r => r.Kind == ExitReasonKind.Custom && Equals(r.Term, "bad"));
    }

    [Fact]
    public async Task Kill_cannot_be_trapped_and_reaches_links_as_killed()
    {
        await using var node = new Node();
        var trapper = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            var victim = ctx.SpawnLink(async c =>
            {
                c.TrapExit = true;
                await TestKit.Idle(c);
            });
            ctx.Exit(victim, ExitReason.Kill);
            var exit = await ctx.Receive<ExitSignal>();
            return (exit, await node.Exited(victim));
        });
        Assert.Equal(ExitReason.Killed, trapper.exit.Reason);
        Assert.Equal(ExitReason.Killed, trapper.Item2);
    }

    [Fact]
    public async Task Killed_arriving_by_link_kills_a_non_trapping_process()
    {
        await using var node = new Node();
        var outer = node.Spawn(TestKit.Idle);
        var victim = node.Spawn(async ctx =>
        {
            ctx.Link(outer);
            await TestKit.Idle(ctx);
        });
        await WaitUntilLinked(node, victim, outer);
        node.Exit(victim, ExitReason.Kill);
        Assert.Equal(ExitReason.Killed, await node.Exited(outer));
    }

    [Fact]
    public async Task Linking_to_a_dead_pid_gives_a_trapping_caller_noproc_and_any_other_a_catchable_error()
    {
        await using var node = new Node();
        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);

        var exit = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            ctx.Link(dead);
            return await ctx.Receive<ExitSignal>();
        });
        Assert.Equal(new ExitSignal(dead, ExitReason.NoProc), exit);

        // As OTP 25's link/1: the error is raised in the caller, which goes on running.
        var error = await node.Run(ctx => Task.FromResult(Assert.Throws<NoProcessException>(() => ctx.Link(dead))));
        Assert.Equal(dead, error.Pid);
        Assert.Contains("noproc", error.Message);
    }

    [Fact]
    public async Task Unlink_removes_both_directions()
    {
        await using var node = new Node();
        var partner = node.Spawn(TestKit.Idle);
        var child = await node.Run(async ctx =>
        {
            ctx.Link(partner);
            ctx.Link(partner);
            Assert.Single(node.GetProcessInfo(partner)!.Links);
            ctx.Unlink(partner);
            return ctx.Self;
        });
        Assert.Empty(node.GetProcessInfo(partner)!.Links);
        node.Exit(partner, ExitReason.Kill);
        await node.Exited(partner);
    }

    [Fact]
    public async Task Exit_from_outside_follows_erlang_exit_2()
    {
        await using var node = new Node();
        var plain = node.Spawn(TestKit.Idle);
        node.Exit(plain, ExitReason.Normal);
        var trapping = node.Spawn(async ctx =>
        {
            ctx.TrapExit = true;
            var exit = await ctx.Receive<ExitSignal>();
            throw new ProcessExitException(ExitReason.Custom($"got {exit.Reason} from {exit.From}"));
        });
        await TestKit.WaitUntil(() => node.GetProcessInfo(trapping)?.TrapExit == true);
        node.Exit(trapping, ExitReason.Shutdown);
        Assert.Equal("got shutdown from <none>", (await node.Exited(trapping)).Term);
        Assert.True(plain.IsAlive);
        node.Exit(plain, ExitReason.Shutdown);
        Assert.Equal(ExitReason.Shutdown, await node.Exited(plain));
    }

    [Fact]
    public async Task A_process_exiting_itself_normally_dies()
    {
        await using var node = new Node();
        var pid = node.Spawn(async ctx =>
        {
            ctx.Exit(ctx.Self, ExitReason.Normal);
            await ctx.ReceiveAsync();
        });
        Assert.Equal(ExitReason.Normal, await node.Exited(pid));
    }

    [Fact]
    public async Task SpawnLink_links_before_the_child_runs()
    {
        await using var node = new Node();
        var parentReason = await node.Run(async ctx =>
        {
            var parent = ctx.Spawn(async c =>
            {
                c.SpawnLink(_ => throw new InvalidOperationException("child crashed at once"));
                await TestKit.Idle(c);
            });
            return await node.Exited(parent);
        });
        Assert.Equal("child crashed at once", parentReason.Exception!.Message);
    }

    [Fact]
    public async Task A_killed_process_parked_in_receive_runs_its_finally_blocks()
    {
        await using var node = new Node();
        var cleaned = new TaskCompletionSource<ExitReason>();
        var pid = node.Spawn(async ctx =>
        {
            try
            {
                await ctx.ReceiveAsync();
            }
            catch (ProcessExitException e)
            {
                cleaned.SetResult(e.Reason);
                throw;
            }
        });
        await TestKit.WaitUntil(() => node.GetProcessInfo(pid)?.Status == ProcessStatus.Waiting);
        node.Exit(pid, ExitReason.Kill);
        Assert.Equal(ExitReason.Killed, await cleaned.Task.WaitAsync(TestKit.Patience));
        Assert.Equal(ExitReason.Killed, await node.Exited(pid));
    }

    [Fact]
    public async Task Links_and_monitors_to_another_node_are_rejected()
    {
        await using var node = new Node();
        await using var other = new Node();
        var remote = other.Spawn(TestKit.Idle);
        var error = await node.Run(ctx => Task.FromResult(Assert.Throws<ArgumentException>(() => ctx.Link(remote))));
        Assert.Contains("another node", error.Message);
    }
    internal static Task WaitUntilLinked(Node node, Pid a, Pid b) =>
        TestKit.WaitUntil(() => node.GetProcessInfo(a)?.Links.Contains(b) == true);
}
