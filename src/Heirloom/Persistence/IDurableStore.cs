namespace Heirloom.Persistence;

/// <summary>A table's store that keeps a journal: what <see cref="DurableTable.TryGetStatus"/> asks of any table.</summary>
internal interface IDurableStore
{
    /// <summary>What the journal and snapshots stand at.</summary>
    DurableTableStatus Status();
}
