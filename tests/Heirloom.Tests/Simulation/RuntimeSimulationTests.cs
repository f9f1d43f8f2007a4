using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Testing;

namespace Heirloom.Tests.Simulations;

/// <summary>The runtime's supervisor, table manager and journal on a simulated node, under the seed's faults.</summary>
public sealed class RuntimeSimulationTests
{
    private static readonly SimulationOptions KillsOnly = new() { FaultRate = 0.05, FaultKinds = [FaultKind.Kill] };

    [Fact]
    public void A_one_for_one_supervisor_brings_every_child_back_after_seeded_kills()
    {
        Simulation.Check(
            async sim =>
            {
                var root = await Supervisor.StartAsync(sim.Node, new SupervisorOptions
                {
                    Strategy = SupervisorStrategy.OneForOne,
                    Intensity = 1_000_000,
                    Period = TimeSpan.FromSeconds(1),
                    Children = [Child("a"), Child("b"), Child("c")],
                });
                sim.Protect(root);
                await sim.RunAsync(TimeSpan.FromSeconds(5));
                await sim.AdvanceAsync(TimeSpan.FromSeconds(1));

                var children = await Supervisor.WhichChildrenAsync(root);
                sim.Check("the supervisor runs its three children again", children.Count == 3 && children.All(c => c.Pid.IsAlive));
                sim.Check("each child is running once", children.Select(c => c.Pid).Distinct().Count() == 3);
            },
            seeds: 100,
            options: KillsOnly);
    }

    [Fact]
    public void A_child_crashed_on_cue_is_restarted_and_its_monitor_fires_once()
    {
        Simulation.Check(
            async sim =>
            {
                var root = await Supervisor.StartAsync(sim.Node, new SupervisorOptions { Children = [Child("a")] });
                var probe = sim.SpawnProbe();
                var first = (await Supervisor.WhichChildrenAsync(root))[0].Pid;
                probe.Monitor(first);
                await sim.AdvanceAsync(TimeSpan.FromMilliseconds(1));

                var killed = await sim.CrashChildAsync(root, "a");
                var down = await probe.ExpectAsync<Down>(TimeSpan.FromSeconds(1));
                sim.Check("the monitor names the killed child", down.Pid == killed && down.Reason.Kind == ExitReasonKind.Killed);
                await probe.ExpectNoneAsync(null, TimeSpan.FromSeconds(1));
                var again = (await Supervisor.WhichChildrenAsync(root))[0].Pid;
                sim.Check("the child runs again, as a new process", again.IsAlive && again != killed);
            },
            seeds: 50,
            options: new SimulationOptions { FaultRate = 0 });
    }

    [Fact]
    public void The_table_manager_keeps_an_in_memory_table_through_seeded_worker_crashes()
    {
        // Kills are the writer's own handler exceptions and crashes on cue: an in-memory table dies with both its owner
        // and its heir, by design, so the manager is not killed here (the durable tree covers that case).
        Simulation.Check(DemoTree.Scenario(durable: false), seeds: 100, options: new SimulationOptions { FaultRate = 0.05, FaultKinds = [FaultKind.Throw] });
    }

    [Fact]
    public void A_durable_table_keeps_every_acknowledged_write_through_disk_faults_and_power_loss()
    {
        Simulation.Check(JournalScenario, seeds: 200, options: new SimulationOptions
        {
            FaultRate = 0.05,
            FaultKinds = [FaultKind.DiskFull, FaultKind.IoError, FaultKind.FsyncFailure],
        });
    }

    private static ChildSpec Child(string id) => ChildSpec.ForGenServer(id, () => new CounterServer());

    /// <summary>A writer process inserts keys one at a time and acknowledges each once durable; when a disk fault fails
    /// the table, it opens the table again from disk and goes on. After a power loss, every acknowledged key is there.</summary>
    private static async Task JournalScenario(SimulatedNode sim)
    {
        var acknowledged = new List<long>();
        var options = new TableOptions { Type = TableType.Set, Access = TableAccess.Public };
        var writer = sim.Node.Spawn(async ctx =>
        {
            var table = DurableTable.Open<long, long>(ctx.Node, options, sim.Durability("journal"));
            for (var key = 1L; ; key++)
            {
                try
                {
                    table.Insert(key, key * 10);
                    await DurableTable.WhenDurableAsync(table);
                    acknowledged.Add(key);
                }
                catch (Exception e) when (e is TableException or IOException)
                {
                    sim.Trace($"table failed at {key}: reopening");
                    table.Delete();
                    table = DurableTable.Open<long, long>(ctx.Node, options, sim.Durability("journal"));
                }

                await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(10));
            }
        });
        sim.Protect(writer);
        await sim.RunAsync(TimeSpan.FromSeconds(5));
        await sim.PowerLossAsync();

        var recovered = DurableTable.Open<long, long>(sim.Node, options, sim.Durability("journal"));
        sim.Check("writes were acknowledged", acknowledged.Count > 0);
        foreach (var key in acknowledged)
        {
            sim.Check($"acknowledged key {key} is there after recovery", recovered.TryGetValue(key, out var value) && value == key * 10);
        }
    }
}
