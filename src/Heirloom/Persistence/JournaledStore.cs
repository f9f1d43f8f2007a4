using System.Buffers;
using System.Buffers.Binary;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A durable table's storage: every write goes to the in-memory store and then, as the resulting state of each key it
/// touched, to the journal, under one lock so the journal's order is the table's. A batch becomes one record, so it is
/// replayed whole or not at all. With <see cref="FsyncPolicy.Always"/> a write returns only once its record is on disk.
/// </summary>
internal sealed class JournaledStore<TKey, TValue>(TableStore<TKey, TValue> inner, Journal journal, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    : TableStore<TKey, TValue>
    where TKey : notnull
{
    private const byte KeyState = 1;
    private const byte Cleared = 2;
    private const byte Batch = 3;

    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly ArrayBufferWriter<byte> _scratch = new();
    private HashSet<TKey>? _batchKeys;
    private bool _batchCleared;
    private int _batchDepth;

    public override long Count => inner.Count;

    public override int BytesPerObject => inner.BytesPerObject;

    public override bool IsFixed => inner.IsFixed;

    /// <summary>Applies one journal record to a store, during recovery.</summary>
    public static void Replay(TableStore<TKey, TValue> store, ReadOnlySpan<byte> record, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        var position = 0;
        ReplayEntry(store, record, ref position, keyCodec, valueCodec);
    }

    public override bool TryGetValue(TKey key, out TValue value) => inner.TryGetValue(key, out value);

    public override TValue[] Lookup(TKey key) => inner.Lookup(key);

    public override bool ContainsKey(TKey key) => inner.ContainsKey(key);

    public override bool ContainsKeyInBatch(TKey key) => inner.ContainsKeyInBatch(key);

    public override TValue[] LookupInBatch(TKey key) => inner.LookupInBatch(key);

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse) => inner.Enumerate(reverse);

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
            sequence = Record(key);
        }

        Acknowledge(sequence);
    }

    public override bool InsertNew(TKey key, TValue value)
    {
        long sequence = 0;
        bool inserted;
        lock (_lock)
        {
            inserted = inner.InsertNew(key, value);
            if (inserted)
            {
                sequence = Record(key);
            }
        }

        Acknowledge(sequence);
        return inserted;
    }

    public override TValue[] Take(TKey key)
    {
        long sequence = 0;
        TValue[] taken;
        lock (_lock)
        {
            taken = inner.Take(key);
            if (taken.Length > 0)
            {
                sequence = Record(key);
            }
        }

        Acknowledge(sequence);
        return taken;
    }

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        long sequence = 0;
        int deleted;
        lock (_lock)
        {
            deleted = inner.DeleteWhere(key, state, match);
            if (deleted > 0)
            {
                sequence = Record(key);
            }
        }

        Acknowledge(sequence);
        return deleted;
    }

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        long sequence = 0;
        int replaced;
        lock (_lock)
        {
            replaced = inner.ReplaceWhere(key, where, replace);
            if (replaced > 0)
            {
                sequence = Record(key);
            }
        }

        Acknowledge(sequence);
        return replaced;
    }

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

    /// <summary>A deleted durable table keeps its files (its owner's death must not erase its data): close the
    /// journal, then drop the objects from memory without journaling that.</summary>
    public override void Release()
    {
        lock (_lock)
        {
            journal.Dispose();
        }

        inner.Release();
    }

    protected override void LockAllWriters() => _lock.Enter();

    protected override void UnlockAllWriters() => _lock.Exit();

    private long Record(TKey key)
    {
        if (_batchDepth > 0)
        {
            _batchKeys!.Add(key);
            return 0;
        }

        _buffer.ResetWrittenCount();
        WriteKeyState(key);
        return journal.Append(_buffer.WrittenSpan);
    }

    private long AppendClear()
    {
        _buffer.ResetWrittenCount();
        _buffer.Write([Cleared]);
        return journal.Append(_buffer.WrittenSpan);
    }

    private long AppendBatch()
    {
        _buffer.ResetWrittenCount();
        _buffer.Write([Batch]);
        WriteInt32(_buffer, _batchKeys!.Count + (_batchCleared ? 1 : 0));
        if (_batchCleared)
        {
            _buffer.Write([Cleared]);
        }

        foreach (var key in _batchKeys)
        {
            WriteKeyState(key);
        }

        _batchKeys = null;
        return journal.Append(_buffer.WrittenSpan);
    }

    /// <summary>The key and all its values now (none when it is gone): replaying it sets the key to exactly this.</summary>
    private void WriteKeyState(TKey key)
    {
        var values = inner.LookupInBatch(key);
        _buffer.Write([KeyState]);
        WriteFramed(writer => keyCodec.Write(writer, key));
        WriteInt32(_buffer, values.Length);
        foreach (var value in values)
        {
            WriteFramed(writer => valueCodec.Write(writer, value));
        }
    }

    private void WriteFramed(Action<IBufferWriter<byte>> write)
    {
        _scratch.ResetWrittenCount();
        write(_scratch);
        WriteInt32(_buffer, _scratch.WrittenCount);
        _buffer.Write(_scratch.WrittenSpan);
    }

    private void Acknowledge(long sequence)
    {
        if (sequence > 0 && journal.Policy == FsyncPolicy.Always)
        {
            journal.WaitDurable(sequence);
        }
    }

    private static void WriteInt32(IBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    private static void ReplayEntry(TableStore<TKey, TValue> store, ReadOnlySpan<byte> record, ref int position, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        switch (record[position++])
        {
            case KeyState:
                var key = keyCodec.Read(Framed(record, ref position));
                var count = ReadInt32(record, ref position);
                store.Take(key);
                for (var i = 0; i < count; i++)
                {
                    store.Insert(key, valueCodec.Read(Framed(record, ref position)));
                }

                break;
            case Cleared:
                store.Release();
                break;
            case Batch:
                var entries = ReadInt32(record, ref position);
                for (var i = 0; i < entries; i++)
                {
                    ReplayEntry(store, record, ref position, keyCodec, valueCodec);
                }

                break;
            default:
                throw new InvalidDataException($"Unknown journal entry kind {record[position - 1]}.");
        }
    }

    private static ReadOnlySpan<byte> Framed(ReadOnlySpan<byte> record, ref int position)
    {
        var length = ReadInt32(record, ref position);
        var framed = record.Slice(position, length);
        position += length;
        return framed;
    }

    private static int ReadInt32(ReadOnlySpan<byte> record, ref int position)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(record[position..]);
        position += 4;
        return value;
    }
}
