namespace Heirloom.Postgres;

/// <summary>A clustered table's owner as PostgreSQL records it.</summary>
/// <param name="Table">The table's name.</param>
/// <param name="NodeId">The node that took the table last; null when no node has taken it yet.</param>
/// <param name="Epoch">The epoch it took the table at (each takeover or planned move increments it).</param>
/// <param name="Address">Where that node is reached for routed calls; null when it advertises none (or has left).</param>
public sealed record ClusteredTableOwner(string Table, string? NodeId, long Epoch, string? Address);
