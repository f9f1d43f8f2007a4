using System.Diagnostics;
using System.Globalization;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Processes;
using Heirloom.Routing;
using Heirloom.Routing.NodeHost;

// A cluster node as its own OS process, for multi-process tests and benchmarks:
//   node <connection string> <schema> <node id> <callers> <timeout ms> [serves: true|false] [key base] [tables]
// It serves the clustered tables "ledger", "ledger1", ... (one unless [tables] says more; none when serves is false),
// routes calls, prints "READY <address>", and on "GO" (stdin) starts <callers> loops writing keys through routed calls,
// key k to table TableOf(k), printing one line per call:
//   A <key> <ms>                acknowledged (committed in PostgreSQL)
//   N <key> <ms> <exception>    reported not started (never applied)
//   U <key> <ms> <exception>    outcome unknown (the handler may have started)
// Each planned hand-off of a table by this node prints "MOVED <table>". On "STOP" the loops end and it prints "DONE".
var (connection, schema, nodeId) = (args[1], args[2], args[3]);
var callers = int.Parse(args[4], CultureInfo.InvariantCulture);
var timeout = TimeSpan.FromMilliseconds(int.Parse(args[5], CultureInfo.InvariantCulture));
var serves = args.Length <= 6 || bool.Parse(args[6]);
var keyBase = long.Parse(args.Length > 7 ? args[7] : "0", CultureInfo.InvariantCulture);
var tables = int.Parse(args.Length > 8 ? args[8] : "1", CultureInfo.InvariantCulture);
var output = TextWriter.Synchronized(Console.Out);

await using var node = new Node();
await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connection, Schema = schema, NodeId = nodeId }, new HandOffReporter(output));
await using var router = await NodeRouter.StartAsync(cluster);
if (serves)
{
    for (var t = 0; t < tables; t++)
    {
        var table = Tables.Name(t);
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Intensity = 100,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = $"{table}.manager" }),
                ChildSpec.ForGenServer("writer", () => new CountingWorker(), new GenServerOptions { Name = $"{table}.writer" }),
                ClusteredTable.ChildSpec<long, long>(cluster, new ClusteredTableOptions { Name = table, ManagerName = $"{table}.manager", WorkerName = $"{table}.writer", WritesWaitForCommit = false }),
            ],
        });
    }
}

output.WriteLine($"READY {router.Address}");
output.Flush();
using var stop = new CancellationTokenSource();
var loops = new List<Task>();
while (Console.ReadLine() is { } command)
{
    if (command == "GO")
    {
        var next = keyBase;
        loops.AddRange(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var key = Interlocked.Increment(ref next);
                var clock = Stopwatch.StartNew();
                var line = await CallAsync(router, Tables.Name(Tables.Of(key, tables)), key, timeout);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line.Kind} {key} {clock.ElapsedMilliseconds} {line.Error}"));
            }
        })));
    }
    else if (command == "STOP")
    {
        stop.Cancel();
        await Task.WhenAll(loops);
        output.WriteLine("DONE");
        output.Flush();
    }
}

static async Task<(char Kind, string Error)> CallAsync(NodeRouter router, string table, long key, TimeSpan timeout)
{
    try
    {
        var reply = await router.CallAsync<long>(table, key, timeout);
        return reply == key ? ('A', "") : ('U', $"WrongReply:{reply}");
    }
    catch (CallFailedException e)
    {
        return (e.HandlerStarted ? 'U' : 'N', e.GetType().Name);
    }
    catch (CallCanceledException e)
    {
        return (e.HandlerStarted ? 'U' : 'N', e.GetType().Name);
    }
    catch (RoutedCallFailedException e)
    {
        return (e.HandlerStarted ? 'U' : 'N', e.GetType().Name);
    }
    catch (Exception e)
    {
        // Any other exception is a failure of the test: it is not one of the typed outcomes.
        return ('X', $"{e.GetType().Name}:{e.Message.Replace('\n', ' ')}");
    }
}
