using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Testing;

namespace Heirloom.Tests.Simulations;

/// <summary>
/// The demo's tree (samples/Heirloom.Demo) as a simulation scenario: a one-for-one supervisor over a table manager
/// that creates the durable "records" table and is its heir, and the writer it hands the table to. The seed kills
/// processes, makes the writer's handler throw and fails disk calls while virtual time passes; then the power goes,
/// and the table reopened from what survived on disk must hold every record the writer acknowledged, as acknowledged.
/// </summary>
internal static class DemoTree
{
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    public static SimulationOptions Options { get; } = new() { FaultRate = 0.03 };

    public static Func<SimulatedNode, Task> Scenario(WriterFlaw flaw = WriterFlaw.None, bool durable = true) =>
        sim => RunAsync(sim, flaw, durable);

    private static TableOptions RecordsOptions => new() { Type = TableType.OrderedSet, Access = TableAccess.Protected };

    private static async Task RunAsync(SimulatedNode sim, WriterFlaw flaw, bool durable)
    {
        var ledger = new Ledger();
        var managed = durable
            ? ManagedTable.Durable<long, string>("records", sim.Durability("records") with { WritesWaitForFsync = false })
            : ManagedTable.For<long, string>("records");
        var records = managed with { Options = RecordsOptions, FindMeName = "writer", Gift = "you own the records now" };
        var root = await Supervisor.StartAsync(sim.Node, new SupervisorOptions
        {
            Strategy = SupervisorStrategy.OneForOne,
            Intensity = 1_000_000,
            Period = TimeSpan.FromSeconds(1),
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = "table_manager", Tables = [records] }),
                ChildSpec.ForGenServer("writer", () => new SimRecordWriter(sim, ledger, flaw), new GenServerOptions { Name = "writer" }),
            ],
        });
        sim.Protect(root);

        // While it runs: the newest acknowledged record is in the live table whenever the table is there to read.
        sim.Invariant("the newest acknowledged record is in the live table", () => NewestIsLive(sim.Node, ledger));
        sim.Invariant("no acknowledged record is replaced by another", () => ledger.Replaced.Count == 0);
        await sim.RunAsync(Duration);

        if (durable)
        {
            await sim.PowerLossAsync();
            var reopened = DurableTable.Open<long, string>(sim.Node, RecordsOptions, sim.Durability("records"));
            CheckAllAcknowledged(sim, ledger, reopened, "after recovery");
        }
        else if (sim.Node.Tables.WhereIs<long, string>("records") is { } live)
        {
            CheckAllAcknowledged(sim, ledger, live, "in the live table");
        }

        sim.Trace($"acknowledged {ledger.Acknowledged.Count}");
    }

    private static bool NewestIsLive(Node node, Ledger ledger)
    {
        if (ledger.Last == 0 || node.Tables.WhereIs<long, string>("records") is not { } table)
        {
            return true;
        }

        try
        {
            return table.TryGetValue(ledger.Last, out var value) && value == ledger.Acknowledged[ledger.Last];
        }
        catch (TableException)
        {
            // A table failed by a disk fault refuses reads; the end checks what reached the disk.
            return true;
        }
    }

    private static void CheckAllAcknowledged(SimulatedNode sim, Ledger ledger, Table<long, string> table, string where)
    {
        foreach (var (key, value) in ledger.Acknowledged)
        {
            sim.Check($"every acknowledged record is in the table {where} (record {key})", table.TryGetValue(key, out var found) && found == value);
        }
    }
}
