using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;

namespace Heirloom.Postgres.Tests;

/// <summary>A cluster node inside the test process serving many clustered tables: one table manager, and for each table
/// a worker (<c>w0</c>, <c>w1</c>, ...) and the table's server, under one supervisor at the default restart intensity
/// (one restart in five seconds), so a test sees whether anything on the node had to be restarted. The workers answer
/// once their write is committed (<c>ReplyWhenDurable</c>) rather than blocking a thread on each commit, which with
/// hundreds of tables written at once would starve the thread pool.</summary>
internal sealed class ManyTablesNode : IAsyncDisposable
{
    private ManyTablesNode(Node node, string nodeId)
    {
        Node = node;
        NodeId = nodeId;
    }

    public Node Node { get; }

    public string NodeId { get; }

    public PostgresCluster Cluster { get; private set; } = null!;

    public Pid Supervisor { get; private set; }

    /// <summary>Each table's server, by table name.</summary>
    public IReadOnlyDictionary<string, Pid> Servers { get; private set; } = new Dictionary<string, Pid>();

    public static string TableName(int i) => $"t{i:000}";

    public static async Task<ManyTablesNode> StartAsync(string connectionString, string schema, string nodeId, int tables, Func<PostgresClusterOptions, PostgresClusterOptions>? configure = null)
    {
        var node = new ManyTablesNode(new Node(), nodeId);
        var options = new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId };
        node.Cluster = await PostgresCluster.StartAsync(node.Node, configure?.Invoke(options) ?? options);
        var children = new List<ChildSpec> { TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }) };
        for (var i = 0; i < tables; i++)
        {
            children.Add(ChildSpec.ForGenServer($"w{i}", () => new LedgerWorker(), new GenServerOptions { Name = $"w{i}" }));
            children.Add(ClusteredTable.ChildSpec<long, long>(node.Cluster, new ClusteredTableOptions { Name = TableName(i), ManagerName = "manager", WorkerName = $"w{i}", WritesWaitForCommit = false }));
        }

        node.Supervisor = await Behaviours.Supervisor.StartAsync(node.Node, new SupervisorOptions { Children = children });
        node.Servers = (await Behaviours.Supervisor.WhichChildrenAsync(node.Supervisor))
            .Where(c => c.Id!.StartsWith("clustered_table:", StringComparison.Ordinal))
            .ToDictionary(c => c.Id!["clustered_table:".Length..], c => c.Pid);
        return node;
    }

    /// <summary>The tables whose server says this node owns them.</summary>
    public async Task<HashSet<string>> OwnedAsync()
    {
        var statuses = await Task.WhenAll(Servers.Values.Select(ClusteredTable.GetStatusAsync));
        return [.. statuses.Where(s => s.Role == ClusteredTableRole.Owner).Select(s => s.Name)];
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
