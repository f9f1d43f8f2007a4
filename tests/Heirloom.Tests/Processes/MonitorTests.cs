using Heirloom.Processes;

namespace Heirloom.Tests.Processes;

public sealed class MonitorTests
{
    [Fact]
    public async Task Down_carries_the_reason_and_arrives_exactly_once()
    {
        await using var node = new Node();
        var (down, extra) = await node.Run(async ctx =>
        {
            var (pid, monitor) = ctx.SpawnMonitor(TestKit.ExitWhenTold);
            pid.Send(ExitReason.Custom("done"));
            var down = await ctx.Receive<Down>();
            Assert.Equal(monitor, down.Ref);
            return (down, await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(50)));
        });
        Assert.Equal("done", down.Reason.Term);
        Assert.Null(extra);
    }

    [Fact]
    public async Task Monitoring_a_dead_pid_gives_noproc_at_once()
    {
        await using var node = new Node();
        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);
        var down = await node.Run(async ctx =>
        {
            var monitor = ctx.Monitor(dead);
            var down = (Down)(await ctx.ReceiveAsync(TimeSpan.Zero))!;
            Assert.Equal(monitor, down.Ref);
            return down;
        });
        Assert.Equal(ExitReason.NoProc, down.Reason);
        Assert.Equal(dead, down.Pid);
    }

    [Fact]
    public async Task Two_monitors_on_one_process_fire_once_each()
    {
        await using var node = new Node();
        var target = node.Spawn(TestKit.ExitWhenTold);
        var refs = await node.Run(async ctx =>
        {
            var a = ctx.Monitor(target);
            var b = ctx.Monitor(target);
            target.Send(ExitReason.Shutdown);
            var first = await ctx.Receive<Down>();
            var second = await ctx.Receive<Down>();
            Assert.Null(await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(20)));
            return (new[] { a, b }.ToHashSet(), new[] { first.Ref, second.Ref }.ToHashSet());
        });
        Assert.Equal(refs.Item1, refs.Item2);
    }

    [Fact]
    public async Task Demonitor_before_the_exit_means_no_down()
    {
        await using var node = new Node();
        var target = node.Spawn(TestKit.ExitWhenTold);
        var (removed, message) = await node.Run(async ctx =>
        {
            var monitor = ctx.Monitor(target);
            var removed = ctx.Demonitor(monitor);
            target.Send(ExitReason.Shutdown);
            await node.Exited(target);
            return (removed, await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(20)));
        });
        Assert.True(removed);
        Assert.Null(message);
    }

    [Fact]
    public async Task Demonitor_with_flush_drops_a_down_already_queued()
    {
        await using var node = new Node();
        var target = node.Spawn(TestKit.ExitWhenTold);
        var (removed, message) = await node.Run(async ctx =>
        {
            var monitor = ctx.Monitor(target);
            target.Send(ExitReason.Shutdown);
            await node.Exited(target); // the Down is in the mailbox now
            Assert.Equal(1, node.GetProcessInfo(ctx.Self)!.MessageQueueLength);
            var removed = ctx.Demonitor(monitor, flush: true);
            return (removed, await ctx.ReceiveAsync(TimeSpan.Zero));
        });
        Assert.False(removed);
        Assert.Null(message);
    }

    [Fact]
    public async Task Demonitor_without_flush_leaves_a_queued_down()
    {
        await using var node = new Node();
        var target = node.Spawn(TestKit.ExitWhenTold);
        var message = await node.Run(async ctx =>
        {
            var monitor = ctx.Monitor(target);
            target.Send(ExitReason.Shutdown);
            await node.Exited(target);
            Assert.False(ctx.Demonitor(monitor));
            return await ctx.ReceiveAsync(TimeSpan.Zero);
        });
        Assert.IsType<Down>(message);
    }

    [Fact]
    public async Task Flush_also_drops_a_down_skipped_by_a_selective_receive()
    {
        await using var node = new Node();
        var target = node.Spawn(TestKit.ExitWhenTold);
        var message = await node.Run(async ctx =>
        {
            var monitor = ctx.Monitor(target);
            target.Send(ExitReason.Shutdown);
            await node.Exited(target);
            ctx.Self.Send("go");
            await ctx.ReceiveAsync(m => m is "go"); // moves the Down to the skipped messages
            ctx.Demonitor(monitor, flush: true);
            return await ctx.ReceiveAsync(TimeSpan.Zero);
        });
        Assert.Null(message);
    }

    [Fact]
    public async Task A_message_sent_before_exiting_arrives_before_the_down()
    {
        await using var node = new Node();
        var order = await node.Run(async ctx =>
        {
            var self = ctx.Self;
            var (pid, _) = ctx.SpawnMonitor(c =>
            {
                self.Send("last words");
                return Task.CompletedTask;
            });
            return new[] { await ctx.ReceiveAsync(), await ctx.ReceiveAsync() };
        });
        Assert.Equal("last words", order[0]);
        Assert.IsType<Down>(order[1]);
    }
}
