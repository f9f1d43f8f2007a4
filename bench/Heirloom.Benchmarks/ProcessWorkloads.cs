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
