using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>Heirloom's side of the behaviour measures, each the same work as its Erlang twin in bench/erlang/bench.escript.</summary>
internal static class BehaviourWorkloads
{
    /// <summary>GenServer call round trip to a server that replies at once, from a process.</summary>
    public static async Task<double> GenServerCallAsync(Node node, int operations)
    {
        var server = await GenServer.StartAsync(node, () => new EchoServer());
        var result = await node.RunAsync(async ctx =>
        {
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < operations; i++)
            {
                await GenServer.CallAsync(server, "ping");
            }

            return Measure.NanosecondsPerOperation(start, operations);
        });
        await GenServer.StopAsync(server);
        return result;
    }

    /// <summary>Time from killing a supervised GenServer to its replacement having run InitAsync: median and p99 of
    /// <paramref name="restarts"/> restarts, in ns.</summary>
    public static async Task<(double Median, double P99)> RestartLatencyAsync(Node node, int restarts)
    {
        return await node.RunAsync(async ctx =>
        {
            var self = ctx.Self;
            var sup = await Supervisor.StartAsync(node, new SupervisorOptions
            {
                Intensity = 1_000_000,
                Period = TimeSpan.FromSeconds(1),
                Children = [ChildSpec.ForGenServer("worker", () => new NotifyingServer(self))],
            });
            var current = (Pid)await ctx.ReceiveAsync();

            // Warm up the JIT (see Measure) before sampling.
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < TimeSpan.FromSeconds(2))
            {
                ctx.Exit(current, ExitReason.Kill);
                current = (Pid)await ctx.ReceiveAsync();
            }

            var times = new double[restarts];
            for (var i = 0; i < restarts; i++)
            {
                var start = Stopwatch.GetTimestamp();
                ctx.Exit(current, ExitReason.Kill);
                current = (Pid)await ctx.ReceiveAsync();
                times[i] = Stopwatch.GetElapsedTime(start).TotalNanoseconds;
            }

            await GenServer.StopAsync(sup, ExitReason.Shutdown);
            Array.Sort(times);
            return (times[restarts / 2], times[restarts * 99 / 100]);
        });
    }

    private sealed class EchoServer : GenServer
    {
        protected override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(request));
    }

    private sealed class NotifyingServer(Pid notify) : GenServer
    {
        protected override ValueTask<InitResult> InitAsync()
        {
            notify.Send(Self);
            return ValueTask.FromResult(InitResult.Ok);
        }
    }
}
