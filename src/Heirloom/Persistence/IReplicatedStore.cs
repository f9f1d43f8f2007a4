using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>What <see cref="ReplicatedTable"/> asks of a replicated table's store, whatever its types.</summary>
internal interface IReplicatedStore
{
    /// <summary>The sequence of the last write handed to the replica.</summary>
    long LastSequence { get; }

    /// <summary>Fails and closes the table; returns the failure.</summary>
    TableException Fail(Exception cause);
}
