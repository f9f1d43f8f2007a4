namespace Heirloom.Persistence;

/// <summary>A store whose writes become durable after they return (a durable table's journal, a replica): what
/// <see cref="DurableTable.WhenDurableAsync"/> and a worker's deferred replies ask of a table.</summary>
internal interface IAcknowledgedStore
{
    /// <summary>Whether a write can return before it is durable, so that an acknowledgement has to wait for it.</summary>
    bool AcknowledgesLater { get; }

    /// <summary>Completes once every write made so far is durable.</summary>
    /// <exception cref="Tables.TableException">The storage failed first: the table is closed.</exception>
    ValueTask WhenDurableAsync();
}
