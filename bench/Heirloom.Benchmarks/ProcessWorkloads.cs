using System.Diagnostics;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>Heirloom's side of the process measures, each the same work as its Erlang twin in bench/erlang/bench.escript.</summary>
internal static class ProcessWorkloads
{
    private sealed record Ping(Pid From);

    /// <summary>Round trip: send to an echo process and wait for its reply.</summary>
    public static Task<double> PingPongAsync(Node node, int operations) => node.RunAsync(async ctx =>
    {
        var echo = ctx.SpawnLink(async c =>
        {
            while (true)
            {
                var ping = (Ping)await c.ReceiveAsync();
                ping.From.Send(ping);
            }
        });
        var message = new Ping(ctx.Self);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < operations; i++)
        {
            echo.Send(message);
            await ctx.ReceiveAsync();
        }

        var result = Measure.NanosecondsPerOperation(start, operations);
        ctx.Unlink(echo);
        ctx.Exit(echo, ExitReason.Kill);
        return result;
    });

    /// <summary><paramref name="pairs"/> pairs at once, each a process doing its share of
    /// <paramref name="operations"/> round trips with its own echo process: nanoseconds per message over all pairs.</summary>
    public static async Task<double> PingPongPairsAsync(Node node, int pairs, int operations)
    {
        var each = operations / pairs;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, pairs).Select(_ => node.RunAsync(async ctx =>
        {
            var echo = ctx.Spawn(async c =>
            {
                while (await c.ReceiveAsync() is Ping ping)
                {
                    ping.From.Send(ping);
                }
            });
            var message = new Ping(ctx.Self);
            for (var i = 0; i < each; i++)
            {
                echo.Send(message);
                await ctx.ReceiveAsync();
            }

            echo.Send("stop");
            return 0;
        })));
        return Measure.NanosecondsPerOperation(start, 2 * each * pairs);
    }

    /// <summary>Skynet: a million processes spawned as a 10-ary tree, each leaf sending its number and each inner
    /// process the sum of its children's; milliseconds until the root's sum arrives, median of three.</summary>
    public static async Task<double> SkynetMillisecondsAsync()
    {
        var times = new List<double>();
        for (var run = 0; run < 3; run++)
        {
            await using var node = new Node();
            var start = Stopwatch.GetTimestamp();
            var sum = await node.RunAsync(async ctx =>
            {
                var self = ctx.Self;
                ctx.Spawn(c => Skynet(c, 0, 1_000_000, self));
                return (long)await ctx.ReceiveAsync();
            });
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (sum != 499_999_500_000)
            {
                throw new InvalidOperationException($"Skynet summed to {sum}, not 499999500000.");
            }
        }

        return times.Order().ElementAt(1);
    }

    private static async Task Skynet(ProcessContext ctx, long number, long size, Pid parent)
    {
        if (size == 1)
        {
            parent.Send(number);
            return;
        }

        var self = ctx.Self;
        var child = size / 10;
        for (var i = 0; i < 10; i++)
        {
            var first = number + (i * child);
            ctx.Spawn(c => Skynet(c, first, child, self));
        }

        long sum = 0;
        for (var i = 0; i < 10; i++)
        {
            sum += (long)await ctx.ReceiveAsync();
        }

        parent.Send(sum);
    }

    /// <summary>Spawn a process that sends one reply and exits; wait for the reply.</summary>
    public static Task<double> SpawnExitAsync(Node node, int operations) => node.RunAsync(async ctx =>
    {
        var self = ctx.Self;
        Func<ProcessContext, Task> child = _ =>
        {
            self.Send("done");
            return Task.CompletedTask;
        };
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < operations; i++)
        {
            ctx.Spawn(child);
            await ctx.ReceiveAsync();
        }

        return Measure.NanosecondsPerOperation(start, operations);
    });

    /// <summary>Spawn-monitor a process that exits at once; wait for its Down.</summary>
    public static Task<double> SpawnMonitorDownAsync(Node node, int operations) => node.RunAsync(async ctx =>
    {
        Func<ProcessContext, Task> child = _ => Task.CompletedTask;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < operations; i++)
        {
            ctx.SpawnMonitor(child);
            await ctx.ReceiveAsync();
        }

        return Measure.NanosecondsPerOperation(start, operations);
    });

    /// <summary>Managed heap bytes per process parked in a receive.</summary>
    public static async Task<double> MemoryPerIdleProcessAsync(int count)
    {
        await using var node = new Node();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < count; i++)
        {
            node.Spawn(static async ctx => await ctx.ReceiveAsync());
        }

        while (ThreadPool.PendingWorkItemCount > 0)
        {
            await Task.Delay(10);
        }

        await Task.Delay(100);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        return (after - before) / (double)count;
    }

    /// <summary>Runs a body as a process and returns its result.</summary>
    public static Task<T> RunAsync<T>(this Node node, Func<ProcessContext, Task<T>> body)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Spawn(async ctx =>
        {
            try
            {
                result.SetResult(await body(ctx));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }
}
