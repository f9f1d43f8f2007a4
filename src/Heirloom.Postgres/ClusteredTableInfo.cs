namespace Heirloom.Postgres;

/// <summary>A clustered table, as PostgreSQL records it.</summary>
/// <param name="Name">The table's name.</param>
/// <param name="Epoch">The fencing token: one more at every change of owner.</param>
/// <param name="LastSequence">The sequence of its last committed write.</param>
/// <param name="OwnerNode">The node that took it last; null before any did.</param>
/// <param name="OwnedSince">When that node took it.</param>
/// <param name="Rows">Keys with a state (tombstones of deleted keys not counted).</param>
public sealed record ClusteredTableInfo(string Name, long Epoch, long LastSequence, string? OwnerNode, DateTimeOffset? OwnedSince, long Rows);
