namespace Heirloom.Postgres;

/// <summary>What a node is for a clustered table.</summary>
public enum ClusteredTableRole
{
    /// <summary>Following the table's commits and waiting to own it.</summary>
    Standby,

    /// <summary>Taking it over: the lock is held, the last commits are being read.</summary>
    TakingOver,

    /// <summary>Owning it: the table is on this node, every write committed in PostgreSQL under this node's epoch.</summary>
    Owner,
}
