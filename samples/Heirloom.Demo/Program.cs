using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Demo;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

DemoOptions? options;
try
{
    options = DemoOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (options is null)
{
    Console.WriteLine(DemoOptions.Usage);
    return 0;
}

var stats = new DemoStats();
await using var node = new Node();

// KAZOO's tree: a TableManager that creates the table and is its heir, and the worker it hands the table to.
// With --durable, the table is on disk too: its journal is fsynced (fsync Always) and the worker acknowledges a record
// once its fsync is done, with writes not waiting for it, so a tick's records share one fsync.
var managed = options.DurableDirectory is { } directory
    ? ManagedTable.Durable<long, string>("records", new DurabilityOptions(directory) { WritesWaitForFsync = false })
    : ManagedTable.For<long, string>("records");
var records = managed with
{
    Options = new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Protected },
    FindMeName = "writer",
    Gift = "you own the records now",
};
await Supervisor.StartAsync(node, new SupervisorOptions
{
    Strategy = SupervisorStrategy.OneForOne,
    Intensity = 1_000_000,
    Period = TimeSpan.FromSeconds(1),
    Children =
    [
        TableManager.ChildSpec(new TableManagerOptions { Name = "table_manager", Tables = [records] }),
        ChildSpec.ForGenServer("writer", () => new RecordWriter(stats), new GenServerOptions { Name = "writer" }),
    ],
});

Table<long, string>? Current() => node.Tables.WhereIs<long, string>("records");
await using var dashboard = options.Dashboard ? await DashboardServer.StartAsync(node) : null;
if (dashboard is not null)
{
    Console.WriteLine($"Dashboard: {dashboard.Url} (it stays up for the run; --duration keeps it longer)");
}

var clock = Stopwatch.StartNew();

// Ctrl+C ends the run early; the summary is still checked and printed.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupted.Cancel();
};

var chaos = Task.Run(async () =>
{
    var random = new Random();
    var interval = options.CrashesPerSecond > 0 ? TimeSpan.FromSeconds(1.0 / options.CrashesPerSecond) : options.Duration;
    for (var crash = 1; clock.Elapsed < options.Duration && !interrupted.IsCancellationRequested; crash++)
    {
        await Task.Delay(interval, interrupted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        if (options.CrashesPerSecond == 0 || interrupted.IsCancellationRequested)
        {
            continue;
        }

        if (node.WhereIs("writer") is { IsNone: false } writer)
        {
            // Half the crashes are an exception inside the worker, half an untrappable kill from outside.
            if (random.Next(2) == 0)
            {
                GenServer.Cast(writer, "crash");
            }
            else
            {
                node.Exit(writer, ExitReason.Kill);
            }

            stats.WorkerCrashed();
        }

        if (options.ManagerCrashEvery > 0 && crash % options.ManagerCrashEvery == 0 && node.WhereIs("table_manager") is { IsNone: false } manager)
        {
            node.Exit(manager, ExitReason.Kill);
            stats.ManagerCrashed();
        }
    }
});

var view = new LiveView(stats, Current);
while (!chaos.IsCompleted)
{
    view.Draw(clock.Elapsed, options.Duration);
    await Task.WhenAny(chaos, Task.Delay(200));
}

await chaos;
view.Draw(clock.Elapsed, options.Duration);
var lost = view.VerifyAll();
Console.WriteLine();
Console.WriteLine($"Summary: {clock.Elapsed.TotalSeconds:F1} s, {stats.WorkerCrashes} worker crashes, {stats.ManagerCrashes} manager crashes, " +
    $"{stats.HandOffs} hand-offs, {stats.Acknowledged} records written, {Current()?.Count ?? 0} in the table, {lost} lost.");
if (options.DurableDirectory is { } onDisk)
{
    // The node's end closes the table; what it left on disk opens again with every acknowledged record.
    await node.DisposeAsync();
    await using var reader = new Node();
    var reopened = DurableTable.Open<long, string>(reader, new TableOptions { Type = TableType.OrderedSet }, new DurabilityOptions(onDisk));
    var missing = 0L;
    for (var key = 1L; key <= stats.Acknowledged; key++)
    {
        missing += reopened.ContainsKey(key) ? 0 : 1;
    }

    Console.WriteLine($"On disk in {onDisk}: {reopened.Count} records, {missing} acknowledged records missing.");
    lost += missing;
}

Console.WriteLine(lost == 0 ? "No acknowledged record was lost." : "RECORDS WERE LOST.");
return lost == 0 ? 0 : 1;
