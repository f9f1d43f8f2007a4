using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Processes;

namespace Heirloom.ClusterDemo;

/// <summary>
/// One node of the demo's cluster, run as its own OS process: a supervision tree with a table manager, the ledger's
/// worker and the clustered table's server, and a load of concurrent callers writing new keys through the worker.
/// Only the owning node's worker has the table, so only its calls are answered; the others wait for a takeover.
/// </summary>
internal static class ClusterNode
{
    public const string Table = "ledger";

    public static async Task<int> RunAsync(string connectionString, string schema, string nodeId, int writers, CancellationToken stopping)
    {
        var output = new NodeOutput();
        await using var node = new Node();

        // A fenced node logs it (its worker does not exit: it waits for the table again).
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId }, new ErrorLogger(nodeId, output.Fenced), stopping);
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Strategy = SupervisorStrategy.OneForOne,
            Intensity = 1000,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                ChildSpec.ForGenServer("writer", () => new LedgerWriter(output), new GenServerOptions { Name = "writer" }),
                ClusteredTable.ChildSpec<long, long>(cluster, new ClusteredTableOptions
                {
                    Name = Table,
                    ManagerName = "manager",
                    WorkerName = "writer",
                    WritesWaitForCommit = false,
                }),
            ],
        });
        output.Ready(nodeId);

        // Keys are unique across nodes and restarts: the node's start time in the high bits, a counter below.
        var next = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 20;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            while (!stopping.IsCancellationRequested)
            {
                var key = Interlocked.Increment(ref next);
                try
                {
                    output.Acknowledged(await GenServer.CallAsync<long>(node, "writer", key, TimeSpan.FromSeconds(30), stopping));
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception)
                {
                    // Not acknowledged (the worker died, or has no table yet): the caller moves on to a new key.
                    await Task.Delay(5, CancellationToken.None);
                }
            }
        }, CancellationToken.None)));
        return 0;
    }
}
