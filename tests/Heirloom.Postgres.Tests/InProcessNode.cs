using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Postgres.Tests;

/// <summary>A cluster node inside the test process: its own Node and cluster membership, a table manager, the worker
/// and the clustered table's server under one supervisor.</summary>
internal sealed class InProcessNode : IAsyncDisposable
{
    private TaskCompletionSource<Table<long, long>> _table = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private InProcessNode(Node node)
    {
        Node = node;
    }

    public Node Node { get; }

    public PostgresCluster Cluster { get; private set; } = null!;

    public Pid Server { get; private set; }

    public Pid Supervisor { get; private set; }

    /// <summary>Completes when the worker gets the table (again, after <see cref="ExpectTable"/>).</summary>
    public Task<Table<long, long>> Table => _table.Task;

    public static async Task<InProcessNode> StartAsync(string connectionString, string schema, string nodeId, string table = "ledger", bool writesWaitForCommit = false, DurabilityOptions? localJournal = null, int maxUnshippedWrites = 10_000, ICodec<long>? valueCodec = null, bool defaultIntensity = false, int maxCommitsInFlight = 2)
    {
        var node = new InProcessNode(new Node());
        node.Cluster = await PostgresCluster.StartAsync(node.Node, new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId, MaxCommitsInFlight = maxCommitsInFlight, MaxPoolSize = Math.Max(2, maxCommitsInFlight) });
        var options = new SupervisorOptions
        {
            Intensity = 100,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                ChildSpec.ForGenServer("writer", () => new LedgerWorker(t => node._table.TrySetResult(t)), new GenServerOptions { Name = "writer" }),
                ClusteredTable.ChildSpec<long, long>(node.Cluster, new ClusteredTableOptions
                {
                    Name = table,
                    ManagerName = "manager",
                    WorkerName = "writer",
                    WritesWaitForCommit = writesWaitForCommit,
                    LocalJournal = localJournal,
                    MaxUnshippedWrites = maxUnshippedWrites,
                }, valueCodec: valueCodec, id: "clustered"),
            ],
        };

        // OTP's default (one restart in five seconds) when a test checks that nothing on the node had to restart.
        var supervisor = await Behaviours.Supervisor.StartAsync(node.Node, defaultIntensity ? options with { Intensity = new SupervisorOptions().Intensity } : options);
        node.Supervisor = supervisor;
        node.Server = (await Behaviours.Supervisor.WhichChildrenAsync(supervisor)).Single(c => c.Id == "clustered").Pid;
        return node;
    }

    public void ExpectTable() => _table = new TaskCompletionSource<Table<long, long>>(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<ClusteredTableStatus> StatusAsync() => ClusteredTable.GetStatusAsync(Server);

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
