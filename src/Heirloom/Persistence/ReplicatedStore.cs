using System.Diagnostics.CodeAnalysis;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A replicated table's storage: every write changes memory and is handed to the replica as one record, under the
/// store's write lock, so the replica sees the table's order. A replica that refuses a write, or fails to commit one,
/// fails the table closed, as a durable table's failed journal does.
/// </summary>
internal sealed class ReplicatedStore<TKey, TValue>(TableStore<TKey, TValue> inner, bool uniqueKeys, ITableReplica replica, long lastSequence, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    : RecordingStore<TKey, TValue>(inner, uniqueKeys, new Lock(), keyCodec, valueCodec), IAcknowledgedStore, IReplicatedStore
    where TKey : notnull
{
    private long _sequence = lastSequence;
    private bool _released;

    public override StoreCapabilities Capabilities => Inner.Capabilities | StoreCapabilities.Journaled;

    public ITableReplica Replica => replica;

    /// <summary>The sequence of the last write handed to the replica.</summary>
    public long LastSequence => Volatile.Read(ref _sequence);

    public bool AcknowledgesLater => !replica.WritesWaitForCommit;

    protected override bool Released => _released;

    public ValueTask WhenDurableAsync()
    {
        ThrowIfReleased();
        var committed = replica.WhenCommittedAsync(LastSequence);
        return committed.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitCommittedAsync(committed);
    }

    /// <summary>The table was deleted: nothing more goes to the replica, and the objects leave memory.</summary>
    public override void Release()
    {
        lock (WriteLock)
        {
            _released = true;
        }

        Inner.Release();
    }

    /// <summary>Fails and closes the table from outside the write lock (the replica lost the right to commit, or its
    /// connection), and returns the failure.</summary>
    public TableException Fail(Exception cause)
    {
        var failure = MarkFailed(cause);
        CloseFailed();
        return failure;
    }

    protected override long Append(ReadOnlySpan<byte> record)
    {
        var sequence = _sequence + 1;
        try
        {
            // The payload as the journal writes it, copied once (the buffer is the store's) and decoded by the replica.
            replica.Append(JournalRecord.FromPayload(sequence, record.ToArray()));
        }
        catch (Exception e)
        {
            throw MarkFailed(e);
        }

        Volatile.Write(ref _sequence, sequence);
        return sequence;
    }

    protected override void Acknowledge(long sequence)
    {
        if (sequence == 0 || !replica.WritesWaitForCommit)
        {
            return;
        }

        var committed = replica.WhenCommittedAsync(sequence);
        if (committed.IsCompletedSuccessfully)
        {
            return;
        }

        try
        {
            committed.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            FailTable(e);
        }
    }

    protected override void CloseFailed() => Table!.CloseFailed();

    private async ValueTask AwaitCommittedAsync(ValueTask committed)
    {
        try
        {
            await committed.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            FailTable(e);
        }
    }

    private TableException MarkFailed(Exception cause)
    {
        Table!.MarkFailed(new TableException(TableError.StorageFailed,
            $"{Table} was closed because its replica ({replica}) could not take or commit its writes: {cause.Message}. " +
            "Writes acknowledged before are committed; the writes that failed are not. Open the table again from its replica.", cause));
        return new TableException(TableError.StorageFailed, Table.Failure!.Message, cause);
    }

    [DoesNotReturn]
    private void FailTable(Exception cause) => throw Fail(cause);
}
