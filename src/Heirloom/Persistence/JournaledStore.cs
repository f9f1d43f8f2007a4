using System.Buffers;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A durable table's storage: every write goes to the in-memory store and then, as the resulting state of each key it
/// touched, to the journal, under one lock (the journal's) so the journal's order is the table's. A batch becomes one record, so it is
/// replayed whole or not at all. With <see cref="FsyncPolicy.Always"/> a write returns only once its record is on disk.
/// <para>
/// A snapshot never stops writers. It closes the journal segment at sequence S, then writes the live table as it reads
/// it. That image is fuzzy (a write after S may or may not be in it), but every journal record sets a key to its whole
/// state, so replaying the records after S over the image gives exactly the table: a key written after S ends as its
/// last record says, any other key has not changed since S. Before the snapshot is renamed into place, the journal is
/// made durable up to every write the image could have seen, so an unacknowledged write (or half a batch) never
/// reaches disk through the snapshot alone. The two newest snapshots are kept, and the segments the older one covers
/// are deleted: if the newest is damaged, recovery falls back to the older one and the longer journal.
/// </para>
/// </summary>
internal sealed class JournaledStore<TKey, TValue>(TableStore<TKey, TValue> inner, bool uniqueKeys, Journal journal, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, DurabilityOptions durability, FileStream directoryLock, long snapshotSequence)
    : TableStore<TKey, TValue>
    where TKey : notnull
{
    // The journal's append lock: changing memory and appending the record happen under one lock.
    private readonly Lock _lock = journal.WriteLock;
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private HashSet<TKey>? _batchKeys;
    private bool _batchCleared;
    private int _batchDepth;
    private readonly SemaphoreSlim _snapshotting = new(1, 1);
    private readonly CancellationTokenSource _releasing = new();
    private bool _released;
    private long _snapshotSequence = snapshotSequence;
    private Exception? _snapshotError;

    /// <summary>The table this store serves; set once it exists, before any write.</summary>
    public Table<TKey, TValue>? Table { get; set; }

    public override long Count => inner.Count;

    public override int BytesPerObject => inner.BytesPerObject;

    public override bool IsFixed => inner.IsFixed;

    public override StoreCapabilities Capabilities => inner.Capabilities | StoreCapabilities.Journaled;

    /// <summary>Applies one journal record to a store, during recovery.</summary>
    public static void Replay(TableStore<TKey, TValue> store, ReadOnlySpan<byte> record, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        var replay = new StoreReplay<TKey, TValue>(store, keyCodec, valueCodec);
        JournalRecordFormat.Decode(record, ref replay);
    }

    public override bool TryGetValue(TKey key, out TValue value) => inner.TryGetValue(key, out value);

    public override TValue[] Lookup(TKey key) => inner.Lookup(key);

    public override bool ContainsKey(TKey key) => inner.ContainsKey(key);

    public override bool ContainsKeyInBatch(TKey key) => inner.ContainsKeyInBatch(key);

    public override TValue[] LookupInBatch(TKey key) => inner.LookupInBatch(key);

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse) => inner.Enumerate(reverse);

    public override IEnumerable<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to) => inner.Range(from, to);

    public override bool TryFirst(out TKey key) => inner.TryFirst(out key);

    public override bool TryLast(out TKey key) => inner.TryLast(out key);

    public override bool TryNext(TKey key, out TKey next) => inner.TryNext(key, out next);

    public override bool TryPrevious(TKey key, out TKey previous) => inner.TryPrevious(key, out previous);

    public override void Fix() => inner.Fix();

    public override void Unfix() => inner.Unfix();

    public override void Insert(TKey key, TValue value)
    {
        long sequence;
        lock (_lock)
        {
            inner.Insert(key, value);

            // In a set, the key's whole state after an insert is the value inserted: no need to read it back.
            sequence = uniqueKeys && _batchDepth == 0 ? RecordSingle(key, value) : Record(key);
        }

        Acknowledge(sequence);
    }

    public override bool InsertNew(TKey key, TValue value) =>
        WriteKey(key, value, static (store, k, v) => store.InsertNew(k, v), static inserted => inserted);

    public override TValue[] Take(TKey key) =>
        WriteKey(key, 0, static (store, k, _) => store.Take(k), static taken => taken.Length > 0);

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match) =>
        WriteKey(key, (state, match), static (store, k, s) => store.DeleteWhere(k, s.state, s.match), static deleted => deleted > 0);

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace) =>
        WriteKey(key, (where, replace), static (store, k, s) => store.ReplaceWhere(k, s.where, s.replace), static replaced => replaced > 0);

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        long sequence;
        TValue result;
        lock (_lock)
        {
            result = inner.Update(key, state, update, out found);
            sequence = Record(key);
        }

        Acknowledge(sequence);
        return result;
    }

    public override void Clear()
    {
        long sequence = 0;
        lock (_lock)
        {
            inner.Clear();
            if (_batchDepth > 0)
            {
                _batchCleared = true;
                _batchKeys!.Clear();
            }
            else
            {
                sequence = AppendClear();
            }
        }

        Acknowledge(sequence);
    }

    public override void EnterBatch()
    {
        _lock.Enter();
        if (_batchDepth++ == 0)
        {
            _batchKeys = [];
            _batchCleared = false;
        }

        inner.EnterBatch();
    }

    public override void ExitBatch()
    {
        long sequence = 0;
        try
        {
            if (--_batchDepth == 0 && (_batchCleared || _batchKeys!.Count > 0))
            {
                sequence = AppendBatch();
            }
        }
        finally
        {
            inner.ExitBatch();
            _lock.Exit();
        }

        Acknowledge(sequence);
    }

    /// <summary>A deleted durable table keeps its files (its owner's death must not erase its data): stop any snapshot,
    /// close the journal and the directory, then drop the objects from memory without journaling that.</summary>
    public override void Release()
    {
        lock (_lock)
        {
            _released = true;
        }

        _releasing.Cancel();
        _snapshotting.Wait();
        journal.Dispose();
        directoryLock.Dispose();
        inner.Release();
    }

    /// <summary>What the journal and snapshots stand at.</summary>
    public DurableTableStatus Status() =>
        new(durability.Directory, journal.Policy, journal.LastSequence, Volatile.Read(ref _snapshotSequence), journal.SegmentBytes, Volatile.Read(ref _snapshotError));

    /// <summary>Takes a snapshot now (after any running one); returns the last journal sequence it includes.</summary>
    public async Task<long> SnapshotAsync(CancellationToken cancellation)
    {
        await _snapshotting.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            return await TakeSnapshotAsync().ConfigureAwait(false);
        }
        finally
        {
            _snapshotting.Release();
        }
    }

    protected override void LockAllWriters() => _lock.Enter();

    protected override void UnlockAllWriters() => _lock.Exit();

    private async Task<long> TakeSnapshotAsync()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released), this);
        var table = Table!;
        var sequence = journal.Rotate();
        var path = DurableFiles.SnapshotPath(durability.Directory, sequence);
        var renamed = false;
        await TableFile.WriteAsync(path, table.Type, table.Access, table.Name, sequence, inner.Enumerate(reverse: false), keyCodec, valueCodec, MakeSeenWritesDurable, _releasing.Token).ConfigureAwait(false);
        ObjectDisposedException.ThrowIf(!renamed, this);
        Volatile.Write(ref _snapshotSequence, sequence);
        Volatile.Write(ref _snapshotError, null);
        Compact();
        return sequence;

        bool MakeSeenWritesDurable()
        {
            long last;
            lock (_lock)
            {
                if (_released)
                {
                    return false;
                }

                // Holding the lock, no write is between changing memory and appending its record: every change the
                // image saw has a record at or before this one.
                last = journal.LastSequence;
            }

            journal.WaitDurable(last);
            return renamed = true;
        }
    }

    private void ThrowIfReleased()
    {
        if (_released)
        {
            throw new TableException(TableError.NoSuchTable, $"{Table} no longer exists: it was deleted while this write waited.");
        }
    }

    /// <summary>Keeps the two newest snapshots and the segments after the older one; deletes the rest.</summary>
    private void Compact()
    {
        var directory = durability.Directory;
        var snapshots = DurableFiles.Snapshots(directory);
        if (snapshots.Count < 2)
        {
            return;
        }

        var kept = snapshots[^2].Sequence;
        foreach (var (_, path) in snapshots.SkipLast(2))
        {
            File.Delete(path);
        }

        // A segment is wholly covered when the next one starts at or before the record after the kept snapshot.
        var segments = DurableFiles.Segments(directory);
        for (var i = 0; i + 1 < segments.Count && segments[i + 1].FirstSequence <= kept + 1; i++)
        {
            File.Delete(segments[i].Path);
        }

        DurableFiles.SyncDirectory(directory);
    }

    /// <summary>Starts a snapshot in the background once the journal since the last one outgrows the threshold.</summary>
    private void SnapshotIfDue()
    {
        if (journal.SegmentBytes < durability.SnapshotAfterBytes || !_snapshotting.Wait(0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                if (journal.SegmentBytes >= durability.SnapshotAfterBytes)
                {
                    await TakeSnapshotAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && Volatile.Read(ref _released))
            {
                // The table was deleted while the snapshot ran; its files stay as they were.
            }
            catch (Exception e)
            {
                // Kept for Status; the next threshold crossing tries again, and the journal still holds everything.
                Volatile.Write(ref _snapshotError, e);
            }
            finally
            {
                _snapshotting.Release();
            }
        });
    }

    /// <summary>
    /// The journaled write of one key: under the journal's lock, applies <paramref name="apply"/> to memory and, when
    /// <paramref name="changed"/> says it changed the key, appends the key's new state; then waits for the record's
    /// fsync as the policy says. The lambdas are static and take their state, so a write allocates no closure.
    /// </summary>
    private TResult WriteKey<TState, TResult>(TKey key, TState state, Func<TableStore<TKey, TValue>, TKey, TState, TResult> apply, Func<TResult, bool> changed)
    {
        long sequence = 0;
        TResult result;
        lock (_lock)
        {
            result = apply(inner, key, state);
            if (changed(result))
            {
                sequence = Record(key);
            }
        }

        Acknowledge(sequence);
        return result;
    }

    private long Record(TKey key)
    {
        ThrowIfReleased();
        if (_batchDepth > 0)
        {
            _batchKeys!.Add(key);
            return 0;
        }

        _buffer.ResetWrittenCount();
        WriteKeyState(key);
        return journal.Append(_buffer.WrittenSpan);
    }

    private long RecordSingle(TKey key, TValue value)
    {
        ThrowIfReleased();
        _buffer.ResetWrittenCount();
        WriteKeyState(key, new ReadOnlySpan<TValue>(in value));
        return journal.Append(_buffer.WrittenSpan);
    }

    private long AppendClear()
    {
        ThrowIfReleased();
        _buffer.ResetWrittenCount();
        JournalRecordFormat.WriteCleared(_buffer);
        return journal.Append(_buffer.WrittenSpan);
    }

    private long AppendBatch()
    {
        ThrowIfReleased();
        _buffer.ResetWrittenCount();
        JournalRecordFormat.WriteBatchHeader(_buffer, _batchKeys!.Count + (_batchCleared ? 1 : 0));
        if (_batchCleared)
        {
            JournalRecordFormat.WriteCleared(_buffer);
        }

        foreach (var key in _batchKeys)
        {
            WriteKeyState(key);
        }

        _batchKeys = null;
        return journal.Append(_buffer.WrittenSpan);
    }

    /// <summary>The key and all its values now (none when it is gone): replaying it sets the key to exactly this.</summary>
    private void WriteKeyState(TKey key) => WriteKeyState(key, inner.LookupInBatch(key));

    private void WriteKeyState(TKey key, ReadOnlySpan<TValue> values) =>
        JournalRecordFormat.WriteKeyState(_buffer, keyCodec, key, valueCodec, values);

    private void Acknowledge(long sequence)
    {
        if (sequence > 0 && journal.Policy == FsyncPolicy.Always)
        {
            journal.WaitDurable(sequence);
        }

        SnapshotIfDue();
    }
}
