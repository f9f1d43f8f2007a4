namespace Heirloom.Persistence;

/// <summary>
/// Where a replicated table's writes go beyond memory (a database, another machine): see
/// <see cref="ReplicatedTable"/>. The table hands it every write as a <see cref="JournalRecord"/> (the resulting state
/// of each key the write touched, a batch as one record), in the table's order, with consecutive sequences; the replica
/// commits them and says when they are committed.
/// </summary>
public interface ITableReplica
{
    /// <summary>Whether a write returns only once the replica has committed it. Otherwise a write returns as soon as it
    /// is in memory and handed over, and writers acknowledge through <see cref="DurableTable.WhenDurableAsync"/>
    /// (or <c>TableWorker.ReplyWhenDurable</c>), which lets many writes share one commit.</summary>
    bool WritesWaitForCommit { get; }

    /// <summary>
    /// Takes one write. Called holding the table's write lock, so it must not block; the record is the replica's to
    /// keep. It carries the write's payload as the journal writes it (<see cref="JournalRecord.Payload"/>): store that
    /// as it is, and decode it once with <see cref="JournalRecord.ReadPayload"/>. Throwing refuses the write: the table fails closed (every later operation throws
    /// <see cref="Tables.TableError.StorageFailed"/>) before any other thread can see the change.
    /// </summary>
    /// <param name="record">The write: its sequence (one more than the last) and its entries.</param>
    void Append(JournalRecord record);

    /// <summary>Completes once every record up to <paramref name="sequence"/> is committed; faults when they can no
    /// longer be (the table then fails closed, and those writes were not acknowledged).</summary>
    /// <param name="sequence">A sequence handed to <see cref="Append"/>.</param>
    ValueTask WhenCommittedAsync(long sequence);
}
