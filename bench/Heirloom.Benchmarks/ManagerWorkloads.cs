using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>The table manager's hand-off: time from killing the worker to its replacement owning the table, the
/// same work as the KAZOO-style manager in bench/erlang/bench.escript.</summary>
internal static class ManagerWorkloads
{
    public static async Task<(double Median, double P99)> HandOffLatencyAsync(int samples)
    {
        await using var node = new Node();
        return await node.RunAsync(async ctx =>
        {
            var self = ctx.Self;
            await Supervisor.StartAsync(node, new SupervisorOptions
            {
                Intensity = 1_000_000,
                Period = TimeSpan.FromSeconds(1),
                Children =
                [
                    TableManager.ChildSpec(new TableManagerOptions { Tables = [ManagedTable.For<long, long>("handoff") with { FindMeName = "handoff_worker" }] }),
                    ChildSpec.ForGenServer("worker", () => new OwningWorker(self), new GenServerOptions { Name = "handoff_worker" }),
                ],
            });
            var owner = (Pid)await ctx.ReceiveAsync();
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < TimeSpan.FromSeconds(2))
            {
                owner = await OneHandOff(ctx, owner);
            }

            var times = new double[samples];
            for (var i = 0; i < samples; i++)
            {
                var start = Stopwatch.GetTimestamp();
                owner = await OneHandOff(ctx, owner);
                times[i] = Stopwatch.GetElapsedTime(start).TotalNanoseconds;
            }

            Array.Sort(times);
            return (times[samples / 2], times[samples * 99 / 100]);
        });
    }

    private static async Task<Pid> OneHandOff(ProcessContext ctx, Pid owner)
    {
        ctx.Exit(owner, ExitReason.Kill);
        return (Pid)await ctx.ReceiveAsync();
    }

    /// <summary>Tells the benchmark when it owns the table.</summary>
    private sealed class OwningWorker(Pid notify) : GenServer
    {
        protected override ValueTask<ServerResult> HandleInfoAsync(object message)
        {
            if (message is TableTransfer)
            {
                notify.Send(Self);
            }

            return ValueTask.FromResult(ServerResult.Ok);
        }
    }
}
