using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>
/// Replicated tables: a table whose every write is also handed, in the table's order, to an <see cref="ITableReplica"/>
/// that commits it elsewhere (a database shared by several machines, say), so the table can be rebuilt from the replica
/// when this node is gone. The replica decides when a write is acknowledged (<see cref="ITableReplica.WritesWaitForCommit"/>,
/// <see cref="DurableTable.WhenDurableAsync"/>); a replica that cannot commit fails the table closed, and its heir
/// receives a <see cref="TableFailed"/>. A table becomes replicated by promoting its standby
/// (<see cref="ReplicaStandby{TKey, TValue}.Promote"/>).
/// </summary>
public static class ReplicatedTable
{
    /// <summary>
    /// Fails a replicated table closed, for its replica once it can no longer commit (it lost the right to, or its
    /// connection): from now every operation throws <see cref="TableError.StorageFailed"/> with <paramref name="cause"/>
    /// inside, the name is freed, and the heir receives a <see cref="TableFailed"/>. Nothing happens to a table already
    /// deleted.
    /// </summary>
    /// <param name="table">A replicated table.</param>
    /// <param name="cause">Why.</param>
    /// <exception cref="ArgumentException">The table is not replicated.</exception>
    public static void Fail(Table table, Exception cause)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(cause);
        if (table.UntypedStore is not IReplicatedStore store)
        {
            throw new ArgumentException($"{table} is not a replicated table; promote a ReplicaStandby.", nameof(table));
        }

        if (!table.IsDeleted)
        {
            store.Fail(cause);
        }
    }

    /// <summary>The sequence of the last write handed to the table's replica.</summary>
    /// <param name="table">A replicated table.</param>
    /// <exception cref="ArgumentException">The table is not replicated.</exception>
    public static long GetLastSequence(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.UntypedStore is IReplicatedStore store
            ? store.LastSequence
            : throw new ArgumentException($"{table} is not a replicated table; promote a ReplicaStandby.", nameof(table));
    }
}
