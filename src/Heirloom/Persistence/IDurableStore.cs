namespace Heirloom.Persistence;

/// <summary>A table's store that keeps a journal: what <see cref="DurableTable"/> asks of any table.</summary>
internal interface IDurableStore : IAcknowledgedStore
{
    /// <summary>What the journal and snapshots stand at.</summary>
    DurableTableStatus Status();

    /// <summary>When the journal is forced to disk.</summary>
    FsyncPolicy Fsync { get; }
}
