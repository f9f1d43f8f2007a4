using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Tables;
using Heirloom.Testing;
using Heirloom.Tests.Simulations;

namespace Heirloom.Benchmarks;

/// <summary>
/// The simulated node's speed, on one thread: how many seeds of the demo's tree (manager, worker, durable table, seeded
/// kills, handler exceptions, disk faults, power loss; 10 s of virtual time each) run per minute, and how long one
/// virtual hour of an idle tree with timers takes. Usage: <c>simulate [seeds=N] [hours=H]</c> (default 1000 seeds, 1
/// hour).
/// </summary>
internal static class SimulationWorkloads
{
    public static int Run(string[] arguments)
    {
        var seeds = Argument(arguments, "seeds=", 1000);
        var hours = Argument(arguments, "hours=", 1);
        if (seeds < 1 || hours < 1)
        {
            Console.Error.WriteLine("Give seeds=N and hours=H as positive numbers, such as: simulate seeds=1000 hours=1.");
            return 2;
        }

        var failed = DemoTreeSeeds(seeds);
        IdleHours(hours);
        return failed == 0 ? 0 : 1;
    }

    private static int DemoTreeSeeds(int seeds)
    {
        var clock = Stopwatch.StartNew();
        long steps = 0, faults = 0;
        var virtualTime = TimeSpan.Zero;
        var failed = 0;
        for (var seed = 1; seed <= seeds; seed++)
        {
            var result = Simulation.Run(seed, DemoTree.Scenario(), DemoTree.Options);
            (steps, faults, virtualTime) = (steps + result.Steps, faults + result.Faults.Count, virtualTime + result.VirtualTime);
            if (!result.Succeeded)
            {
                failed++;
                Console.WriteLine(result);
            }
        }

        var elapsed = clock.Elapsed;
        Console.WriteLine($"demo tree: {seeds} seeds in {elapsed.TotalSeconds:F2} s = {seeds / elapsed.TotalMinutes:F0} seeds/minute; " +
            $"{virtualTime.TotalSeconds / seeds:F1} s virtual, {steps / seeds} steps and {(double)faults / seeds:F1} faults per seed; {failed} failed");
        return failed;
    }

    /// <summary>A supervisor, a table manager with a durable table (fsync EverySecond: a timer a second), and a server
    /// with a timer a minute, left alone for <paramref name="hours"/> of virtual time.</summary>
    private static void IdleHours(int hours)
    {
        var clock = Stopwatch.StartNew();
        var result = Simulation.Run(1, async sim =>
        {
            var durable = ManagedTable.Durable<long, string>("idle", sim.Durability("idle") with { Fsync = FsyncPolicy.EverySecond });
            await Supervisor.StartAsync(sim.Node, new SupervisorOptions
            {
                Children =
                [
                    TableManager.ChildSpec(new TableManagerOptions { Name = "table_manager", Tables = [durable with { Options = new TableOptions() }] }),
                    ChildSpec.ForProcess("ticker", async ctx =>
                    {
                        while (true)
                        {
                            await ctx.ReceiveAsync(TimeSpan.FromMinutes(1));
                        }
                    }),
                ],
            });
            await sim.AdvanceAsync(TimeSpan.FromHours(hours));
        });
        Console.WriteLine($"idle tree: {hours} virtual hour(s) in {clock.Elapsed.TotalMilliseconds:F0} ms, {result.Steps} steps; {(result.Succeeded ? "passed" : result.ToString())}");
    }

    private static int Argument(string[] arguments, string prefix, int fallback) =>
        arguments.FirstOrDefault(a => a.StartsWith(prefix, StringComparison.Ordinal)) is { } given && int.TryParse(given.AsSpan(prefix.Length), out var value)
            ? value
            : fallback;
}
