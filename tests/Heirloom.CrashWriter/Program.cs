using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

// The child of the SIGKILL crash test: writes batches of three records to a durable table with fsync Always, and
// prints the number of each batch once the write has returned (is acknowledged), until it is killed. Snapshots are
// due every few kilobytes of journal, so kills also land inside snapshots and compactions. With --managed, the table
// is a TableManager's, written by a supervised worker, while the main thread kills the worker, the manager or both
// every few milliseconds: the OS kill then also lands inside hand-offs and restarts.
if (args.Length is < 1 or > 2 || (args.Length == 2 && args[1] != "--managed"))
{
    Console.Error.WriteLine("usage: Heirloom.CrashWriter <table directory> [--managed]");
    return 2;
}

var durability = new DurabilityOptions(args[0]) { Fsync = FsyncPolicy.Always, SnapshotAfterBytes = 2 << 10 };
await using var node = new Node();
if (args.Length == 1)
{
    var table = DurableTable.Open<long, long>(node, new TableOptions(), durability);
    WriteBatches(table);
}

await Supervisor.StartAsync(node, new SupervisorOptions
{
    Intensity = 1_000_000,
    Period = TimeSpan.FromSeconds(1),
    Children =
    [
        TableManager.ChildSpec(new TableManagerOptions
        {
            Name = "manager",
            Tables = [ManagedTable.Durable<long, long>("records", durability) with { FindMeName = "writer" }],
        }),
        ChildSpec.ForProcess("writer", async ctx =>
        {
            ctx.Node.Register("writer", ctx.Self);
            var transfer = (TableTransfer)await ctx.ReceiveAsync(m => m is TableTransfer);
            WriteBatches((Table<long, long>)transfer.Table);
        }),
    ],
});

var random = new Random();
while (true)
{
    await Task.Delay(random.Next(1, 5));
    foreach (var name in random.Next(3) switch { 0 => ["writer"], 1 => ["manager"], _ => new[] { "manager", "writer" } })
    {
        if (node.WhereIs(name) is { IsNone: false } pid)
        {
            node.Exit(pid, ExitReason.Kill);
        }
    }
}

// Runs until the process is killed (or, managed, until the writer is: its next write is refused and throws).
static void WriteBatches(Table<long, long> table)
{
    var batch = table.Count / 3;
    while (true)
    {
        var first = batch * 3;
        table.Insert([new(first, first), new(first + 1, first + 1), new(first + 2, first + 2)]);
        Console.WriteLine(batch);
        Console.Out.Flush();
        batch++;
    }
}
