namespace Heirloom.Routing;

/// <summary>A routed call named a clustered table the cluster does not know: no node ever started its server.</summary>
public sealed class ClusteredTableNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">The table's name.</param>
    public ClusteredTableNotFoundException(string table)
        : base($"The cluster has no clustered table named '{table}': no node ever started its server. Check the name, or start the table's server (ClusteredTable.ChildSpec) on the nodes that serve it.") =>
        Table = table;

    /// <summary>The table's name.</summary>
    public string Table { get; }
}
