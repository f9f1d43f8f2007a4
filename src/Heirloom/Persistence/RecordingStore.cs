using System.Buffers;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A storage layer that records every write as the resulting state of each key it touched, in the table's order: the
/// write path shared by a durable table's journal (<see cref="JournaledStore{TKey, TValue}"/>) and a replicated table
/// (<see cref="ReplicatedStore{TKey, TValue}"/>). Changing memory and recording the change happen under one lock, the
/// destination's, so the record order is the table's; a batch becomes one record, applied whole or not at all. Reads
/// pass through to the wrapped engine.
/// </summary>
internal abstract class RecordingStore<TKey, TValue>(TableStore<TKey, TValue> inner, bool uniqueKeys, Lock writeLock, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    : TableStore<TKey, TValue>, IWrappingStore
    where TKey : notnull
{
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private HashSet<TKey>? _batchKeys;
    private bool _batchCleared;
    private int _batchDepth;

    /// <summary>The table this store serves; set once it exists, before any write.</summary>
    public Table<TKey, TValue>? Table { get; set; }

    public override long Count => inner.Count;

    public override int BytesPerObject => inner.BytesPerObject;

    public override bool IsFixed => inner.IsFixed;

    object IWrappingStore.InnerStore => inner;

    protected TableStore<TKey, TValue> Inner => inner;

    protected Lock WriteLock => writeLock;

    protected ICodec<TKey> KeyCodec => keyCodec;

    protected ICodec<TValue> ValueCodec => valueCodec;

    /// <summary>Whether the destination was closed (the table deleted or failed); checked under the write lock.</summary>
    protected abstract bool Released { get; }

    private bool UniqueKeysOutsideBatch => uniqueKeys && _batchDepth == 0;

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

    public override void Insert(TKey key, TValue value) =>
        Recorded((key, value), static (RecordingStore<TKey, TValue> store, (TKey Key, TValue Value) write, out long sequence) =>
        {
            store.Inner.Insert(write.Key, write.Value);

            // In a set, the key's whole state after an insert is the value inserted: no need to read it back.
            sequence = store.UniqueKeysOutsideBatch ? store.RecordSingle(write.Key, write.Value) : store.Record(write.Key);
            return 0;
        });

    public override void InsertAll(IReadOnlyList<KeyValuePair<TKey, TValue>> objects) =>
        Recorded(objects, static (RecordingStore<TKey, TValue> store, IReadOnlyList<KeyValuePair<TKey, TValue>> objects, out long sequence) =>
        {
            // Inside a batch (as tables call it) each key is recorded once, as it stands when the batch ends; outside
            // one, each gets its record and the write waits for the last.
            store.Inner.InsertAll(objects);
            sequence = 0;
            foreach (var (key, _) in objects)
            {
                sequence = store.Record(key);
            }

            return 0;
        });

    public override bool InsertNew(TKey key, TValue value) =>
        WriteKey(key, value, static (store, k, v) => store.InsertNew(k, v), static inserted => inserted);

    public override TValue[] Take(TKey key) =>
        WriteKey(key, 0, static (store, k, _) => store.Take(k), static taken => taken.Length > 0);

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override bool DeleteObject(TKey key, TValue value) =>
        WriteKey(key, value, static (store, k, v) => store.DeleteObject(k, v), static deleted => deleted);

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match) =>
        WriteKey(key, (state, match), static (store, k, s) => store.DeleteWhere(k, s.state, s.match), static deleted => deleted > 0);

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace) =>
        WriteKey(key, (where, replace), static (store, k, s) => store.ReplaceWhere(k, s.where, s.replace), static replaced => replaced > 0);

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        var (result, wasFound) = Recorded((key, state, update), static (RecordingStore<TKey, TValue> store, (TKey Key, TState State, UpdateFunc<TKey, TValue, TState> Update) write, out long sequence) =>
        {
            var result = store.Inner.Update(write.Key, write.State, write.Update, out var found);
            sequence = store.Record(write.Key);
            return (result, found);
        });
        found = wasFound;
        return result;
    }

    public override void Clear() =>
        Recorded(0, static (RecordingStore<TKey, TValue> store, int _, out long sequence) =>
        {
            sequence = 0;
            store.Inner.Clear();
            if (store._batchDepth > 0)
            {
                store._batchCleared = true;
                store._batchKeys!.Clear();
            }
            else
            {
                sequence = store.AppendClear();
            }

            return 0;
        });

    public override void EnterBatch()
    {
        writeLock.Enter();
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
                writeLock.Exit();
            }
        }
        catch (TableException e) when (e.Error == TableError.StorageFailed)
        {
            CloseFailed();
            throw;
        }

        Acknowledge(sequence);
    }

    /// <summary>Appends one record holding the write lock, and returns its sequence. A destination that fails marks
    /// the table failed before returning (so no reader sees the change whose record failed) and throws a
    /// <see cref="TableException"/> with <see cref="TableError.StorageFailed"/>.</summary>
    protected abstract long Append(ReadOnlySpan<byte> record);

    /// <summary>After the write lock is released: waits for the record as the destination's policy says (0: the write
    /// changed nothing).</summary>
    protected abstract void Acknowledge(long sequence);

    /// <summary>Closes the table after its destination failed (outside the write lock).</summary>
    protected abstract void CloseFailed();

    protected override void LockAllWriters() => writeLock.Enter();

    protected override void UnlockAllWriters() => writeLock.Exit();

    protected void ThrowIfReleased()
    {
        if (Released)
        {
            // A write that waited for the lock while the table failed is told why it failed, not only that it is gone.
            Table!.ThrowIfFailed();
            throw new TableException(TableError.NoSuchTable, $"{Table} no longer exists: it was deleted while this write waited.");
        }
    }

    /// <summary>
    /// The write of one key: applies <paramref name="apply"/> to memory and, when <paramref name="changed"/> says it
    /// changed the key, records the key's new state. The lambdas are static and take their state, so a write allocates
    /// no closure.
    /// </summary>
    private TResult WriteKey<TState, TResult>(TKey key, TState state, Func<TableStore<TKey, TValue>, TKey, TState, TResult> apply, Func<TResult, bool> changed) =>
        Recorded((key, state, apply, changed), static (RecordingStore<TKey, TValue> store, (TKey Key, TState State, Func<TableStore<TKey, TValue>, TKey, TState, TResult> Apply, Func<TResult, bool> Changed) write, out long sequence) =>
        {
            var result = write.Apply(store.Inner, write.Key, write.State);
            sequence = write.Changed(result) ? store.Record(write.Key) : 0;
            return result;
        });

    /// <summary>
    /// Every recorded write: under the write lock, <paramref name="write"/> changes memory and appends the record of
    /// the change; then the write is acknowledged as the destination's policy says. A destination that fails marks the
    /// table failed under the same lock, before any other thread can see the change, and closes it once the lock is
    /// released.
    /// </summary>
    private TResult Recorded<TState, TResult>(TState state, RecordedWrite<TState, TResult> write)
    {
        long sequence;
        TResult result;
        try
        {
            lock (writeLock)
            {
                ThrowIfReleased();
                result = write(this, state, out sequence);
            }
        }
        catch (TableException e) when (e.Error == TableError.StorageFailed)
        {
            CloseFailed();
            throw;
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
        return Append(_buffer.WrittenSpan);
    }

    private long RecordSingle(TKey key, TValue value)
    {
        ThrowIfReleased();
        _buffer.ResetWrittenCount();
        WriteKeyState(key, new ReadOnlySpan<TValue>(in value));
        return Append(_buffer.WrittenSpan);
    }

    private long AppendClear()
    {
        ThrowIfReleased();
        _buffer.ResetWrittenCount();
        JournalRecordFormat.WriteCleared(_buffer);
        return Append(_buffer.WrittenSpan);
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
        return Append(_buffer.WrittenSpan);
    }

    /// <summary>The key and all its values now (none when it is gone): replaying it sets the key to exactly this.</summary>
    private void WriteKeyState(TKey key) => WriteKeyState(key, inner.LookupInBatch(key));

    private void WriteKeyState(TKey key, ReadOnlySpan<TValue> values) =>
        JournalRecordFormat.WriteKeyState(_buffer, keyCodec, key, valueCodec, values);

    /// <summary>One recorded write, run under the write lock: returns its result and the sequence to wait for (0 for
    /// none).</summary>
    private delegate TResult RecordedWrite<TState, TResult>(RecordingStore<TKey, TValue> store, TState state, out long sequence);
}
