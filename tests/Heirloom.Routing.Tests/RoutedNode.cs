using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Routing.Tests;

/// <summary>A cluster node inside the test process: its Node, membership, router, and (unless it only calls) the
/// "ledger" table's manager, worker and server under one supervisor.</summary>
internal sealed class RoutedNode : IAsyncDisposable
{
    private readonly TaskCompletionSource<Table<long, long>> _table = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    private RoutedNode(Node node) => Node = node;

    public Node Node { get; }

    public PostgresCluster Cluster { get; private set; } = null!;

    public NodeRouter Router { get; private set; } = null!;

    public Pid Server { get; private set; }

    /// <summary>Completes when the worker gets the table.</summary>
    public Task<Table<long, long>> Table => _table.Task;

    public static RouterOptions DefaultOptions => new() { Codecs = new MessageCodecs().Register<Lookup>().Register<Hold>().Register<Put>() };

    public static async Task<RoutedNode> StartAsync(string connectionString, string schema, string nodeId, bool serves = true, RouterOptions? options = null)
    {
        var node = new RoutedNode(new Node());
        node.Cluster = await PostgresCluster.StartAsync(node.Node, new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId });
        node.Router = await NodeRouter.StartAsync(node.Cluster, options ?? DefaultOptions);
        if (serves)
        {
            var supervisor = await Supervisor.StartAsync(node.Node, new SupervisorOptions
            {
                Intensity = 100,
                Children =
                [
                    TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                    ChildSpec.ForGenServer("writer", () => new LedgerWorker(t => node._table.TrySetResult(t)), new GenServerOptions { Name = "writer" }),
                    ClusteredTable.ChildSpec<long, long>(node.Cluster, new ClusteredTableOptions { Name = "ledger", ManagerName = "manager", WorkerName = "writer", WritesWaitForCommit = false }, id: "clustered"),
                ],
            });
            node.Server = (await Supervisor.WhichChildrenAsync(supervisor)).Single(c => c.Id == "clustered").Pid;
        }

        return node;
    }

    public Task<ClusteredTableStatus> StatusAsync() => ClusteredTable.GetStatusAsync(Server);

    /// <summary>Stops the node as a host would: its servers stop (the table is handed off, a planned move), then the
    /// router and the cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await Node.DisposeAsync();
        await Router.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
