using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

// The child of the SIGKILL crash test: writes batches of three records to a durable table with fsync Always, and
// prints the number of each batch once the write has returned (is acknowledged), until it is killed. Snapshots are
// due every few kilobytes of journal, so kills also land inside snapshots and compactions.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Heirloom.CrashWriter <table directory>");
    return 2;
}

await using var node = new Node();
var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, new DurabilityOptions(args[0]) { Fsync = FsyncPolicy.Always, SnapshotAfterBytes = 2 << 10 });
var batch = table.Count / 3;
while (true)
{
    var first = batch * 3;
    table.Insert([new(first, first), new(first + 1, first + 1), new(first + 2, first + 2)]);
    Console.WriteLine(batch);
    Console.Out.Flush();
    batch++;
}
