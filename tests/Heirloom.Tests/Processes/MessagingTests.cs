using Heirloom.Processes;

namespace Heirloom.Tests.Processes;

public sealed class MessagingTests
{
    [Fact]
    public async Task Pids_print_like_erlang_and_are_never_reused()
    {
        await using var node = new Node();
        var pids = Enumerable.Range(0, 100).Select(_ => node.Spawn(_ => Task.CompletedTask)).ToList();
        foreach (var pid in pids)
        {
            await node.Exited(pid);
        }

        var more = Enumerable.Range(0, 100).Select(_ => node.Spawn(_ => Task.CompletedTask)).ToList();
        Assert.Equal(200, pids.Concat(more).Distinct().Count());
        Assert.Matches(@"^<\d+\.\d+\.0>$", pids[0].ToString());
        Assert.Equal("<none>", Pid.None.ToString());
        Assert.False(pids[0].IsAlive);
    }

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_order()
    {
        await using var node = new Node();
        var received = await node.Run(async ctx =>
        {
            var self = ctx.Self;
            ctx.Spawn(_ =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    self.Send(i);
                }

                return Task.CompletedTask;
            });
            var list = new List<int>();
            for (var i = 0; i < 10_000; i++)
            {
                list.Add((int)await ctx.ReceiveAsync());
            }

            return list;
        });
        Assert.Equal(Enumerable.Range(0, 10_000), received);
    }

    [Fact]
    public async Task Receive_with_timeout_returns_null_when_nothing_arrives()
    {
        await using var node = new Node();
        var (zero, shortWait) = await node.Run(async ctx =>
            (await ctx.ReceiveAsync(TimeSpan.Zero), await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(20))));
        Assert.Null(zero);
        Assert.Null(shortWait);
    }

    [Fact]
    public async Task Message_arriving_before_the_timeout_wins()
    {
        await using var node = new Node();
        var got = await node.Run(async ctx =>
        {
            var self = ctx.Self;
            ctx.Spawn(_ =>
            {
                self.Send("hello");
                return Task.CompletedTask;
            });
            return await ctx.ReceiveAsync(TimeSpan.FromSeconds(30));
        });
        Assert.Equal("hello", got);
    }

    [Fact]
    public async Task Selective_receive_takes_the_match_and_keeps_the_rest_in_order()
    {
        await using var node = new Node();
        var order = await node.Run(async ctx =>
        {
            foreach (var m in new object[] { 1, "a", 2, "b", 3 })
            {
                ctx.Self.Send(m);
            }

            var first = await ctx.ReceiveAsync(m => m is string);
            var none = await ctx.ReceiveAsync(m => m is double, TimeSpan.Zero);
            var rest = new List<object> { first };
            for (var i = 0; i < 4; i++)
            {
                rest.Add(await ctx.ReceiveAsync());
            }

            Assert.Null(none);
            return rest;
        });
        Assert.Equal(new object[] { "a", 1, 2, "b", 3 }, order);
    }

    [Fact]
    public async Task Selective_receive_wakes_only_for_a_matching_message()
    {
        await using var node = new Node();
        var got = await node.Run(async ctx =>
        {
            var self = ctx.Self;
            ctx.Spawn(async c =>
            {
                for (var i = 0; i < 100; i++)
                {
                    self.Send(i);
                    await Task.Yield();
                }

                self.Send("done");
            });
            var done = await ctx.ReceiveAsync(m => m is string);
            var count = 0;
            while (await ctx.ReceiveAsync(TimeSpan.Zero) is int)
            {
                count++;
            }

            return (done, count);
        });
        Assert.Equal(("done", 100), got);
    }

    [Fact]
    public async Task Sending_to_a_dead_pid_is_silently_dropped()
    {
        await using var node = new Node();
        var pid = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(pid);
        pid.Send("lost");
        node.Send(pid, "lost");
        Assert.False(pid.IsAlive);
    }

    [Fact]
    public async Task Bad_sends_are_rejected_with_clear_errors()
    {
        await using var node = new Node();
        var pid = node.Spawn(TestKit.Idle);
        Assert.Throws<ArgumentNullException>(() => pid.Send(null!));
        var none = Assert.Throws<InvalidOperationException>(() => Pid.None.Send("x"));
        Assert.Contains("Pid.None", none.Message);
        var unknown = Assert.Throws<NoProcessException>(() => node.Send("nobody", "x"));
        Assert.Contains("nobody", unknown.Message);
    }

    [Fact]
    public async Task Only_the_process_itself_may_receive()
    {
        await using var node = new Node();
        var pid = node.Spawn(TestKit.Idle);
        var victim = pid.Process!;
        var error = Assert.Throws<InvalidOperationException>(() => victim.ReceiveAsync());
        Assert.Contains("Only process", error.Message);
    }

    [Fact]
    public async Task Negative_timeouts_are_rejected()
    {
        await using var node = new Node();
        var error = await node.Run(async ctx =>
        {
            try
            {
                await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(-5));
                return null;
            }
            catch (ArgumentOutOfRangeException e)
            {
                return e;
            }
        });
        Assert.NotNull(error);
    }

    [Fact]
    public async Task A_busy_process_yields_so_others_still_run()
    {
        await using var node = new Node();

        // One process floods itself; another must still get its turn on the two-thread pool.
        var flooders = Enumerable.Range(0, Environment.ProcessorCount * 2).Select(_ => node.Spawn(async ctx =>
        {
            ctx.Self.Send(0);
            while (true)
            {
                var n = (int)await ctx.ReceiveAsync();
                ctx.Self.Send(n + 1);
            }
        })).ToList();
        var answer = await node.Run(ctx => Task.FromResult(42));
        Assert.Equal(42, answer);
        foreach (var pid in flooders)
        {
            node.Exit(pid, ExitReason.Kill);
        }
    }
}
