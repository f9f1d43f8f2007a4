using System.Buffers;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// Ordered-set storage off the GC heap: every object is one <see cref="NativeRecord"/> (key and value encoded by the
/// table's codecs); the records sit in key order in leaves of <see cref="NativeLeaves{TKey}.Capacity"/> pointers, found
/// by a binary search over the leaves' first keys, then over the leaf's records (whose keys are decoded to be compared
/// with the table's <see cref="IComparer{T}"/>).
/// </summary>
/// <remarks>
/// One lock guards the whole store, for readers and writers alike, and is held only to find and copy bytes (decoding
/// happens after it is released, except where a function must see the value under the lock: updates, select-delete and
/// select-replace). It is reentrant, so such a function may read the table. A batch holds it throughout, which makes
/// batches isolated. This favours correctness over concurrency: many threads reading one off-heap ordered set take turns.
/// Leaves that empty are removed; the list of leaves is an array, so a split or a removal moves one pointer per leaf.
/// </remarks>
internal sealed unsafe class OffHeapOrderedStore<TKey, TValue> : TableStore<TKey, TValue>, IOffHeapStore
    where TKey : notnull
{
    private const int ChunkObjects = 64;

    private readonly ICodec<TKey> _keyCodec;
    private readonly ICodec<TValue> _valueCodec;
    private readonly IComparer<TKey> _comparer;
    private readonly Lock _lock = new();
    private readonly NativeLeaves<TKey> _leaves = new();
    private long _count;
    private long _bytes;

    public OffHeapOrderedStore(ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, IComparer<TKey>? comparer)
    {
        _keyCodec = keyCodec;
        _valueCodec = valueCodec;
        _comparer = comparer ?? Comparer<TKey>.Default;
    }

    public override long Count => Volatile.Read(ref _count);

    /// <summary>The native bytes the records take.</summary>
    public long NativeBytes => Volatile.Read(ref _bytes);

    /// <summary>The bytes per object, rounded up: the records, and the leaves' pointer arrays on the GC heap.</summary>
    public override int BytesPerObject
    {
        get
        {
            lock (_lock)
            {
                var total = _bytes + ((long)_leaves.Items.Count * ((NativeLeaves<TKey>.Capacity * sizeof(nint)) + 64));
                var count = Math.Max(1, _count);
                return (int)Math.Min(int.MaxValue, (total + count - 1) / count);
            }
        }
    }

    // An ordered set needs no fixing: next/previous accept any key, present or not, as in ETS.
    public override bool IsFixed => false;

    public override StoreCapabilities Capabilities => StoreCapabilities.Ordered;

    private List<NativeLeaves<TKey>.Leaf> Leaves => _leaves.Items;

    public override bool TryGetValue(TKey key, out TValue value)
    {
        byte[]? copy = null;
        var length = 0;
        lock (_lock)
        {
            if (Locate(key, out var leaf, out var index))
            {
                var bytes = NativeRecord.ValueOf(RecordAt(leaf, index));
                length = bytes.Length;
                copy = ArrayPool<byte>.Shared.Rent(length);
                bytes.CopyTo(copy);
            }
        }

        if (copy is null)
        {
            value = default!;
            return false;
        }

        try
        {
            value = _valueCodec.Read(copy.AsSpan(0, length));
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public override TValue[] Lookup(TKey key) => TryGetValue(key, out var value) ? [value] : [];

    public override bool ContainsKey(TKey key)
    {
        lock (_lock)
        {
            return Locate(key, out _, out _);
        }
    }

    // The lock is reentrant: a batch's own reads take it again.
    public override bool ContainsKeyInBatch(TKey key) => ContainsKey(key);

    public override TValue[] LookupInBatch(TKey key) => Lookup(key);

    public override void Insert(TKey key, TValue value) => Put(key, value, replace: true);

    public override bool InsertNew(TKey key, TValue value) => Put(key, value, replace: false);

    /// <summary>Encodes every object first, so that one its codecs cannot encode leaves the table unchanged.</summary>
    public override void InsertAll(IReadOnlyList<KeyValuePair<TKey, TValue>> objects)
    {
        var records = new nint[objects.Count];
        var inserted = 0;
        try
        {
            for (var i = 0; i < records.Length; i++)
            {
                records[i] = (nint)NewRecord(objects[i].Key, objects[i].Value);
            }

            lock (_lock)
            {
                for (; inserted < records.Length; inserted++)
                {
                    Put(objects[inserted].Key, (NativeRecord*)records[inserted], replace: true);
                }
            }
        }
        finally
        {
            // Records built but not handed to the table (a codec failed, or nothing was inserted yet).
            for (var i = inserted; i < records.Length; i++)
            {
                if (records[i] != 0)
                {
                    NativeRecord.Free((NativeRecord*)records[i]);
                }
            }
        }
    }

    public override TValue[] Take(TKey key)
    {
        var taken = RecordChunk.Rent();
        try
        {
            lock (_lock)
            {
                if (!Locate(key, out var leaf, out var index))
                {
                    return [];
                }

                taken.AddValue(RecordAt(leaf, index));
                RemoveAt(leaf, index);
            }

            return [_valueCodec.Read(taken.Value(0))];
        }
        finally
        {
            RecordChunk.Return(taken);
        }
    }

    public override bool Delete(TKey key)
    {
        lock (_lock)
        {
            if (!Locate(key, out var leaf, out var index))
            {
                return false;
            }

            RemoveAt(leaf, index);
            return true;
        }
    }

    /// <summary>Deletes the object if its encoded value equals <paramref name="value"/>'s: off-heap, an object is its
    /// bytes.</summary>
    public override bool DeleteObject(TKey key, TValue value)
    {
        var expected = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_valueCodec, expected, value, "value");
            lock (_lock)
            {
                if (!Locate(key, out var leaf, out var index) || !NativeRecord.ValueOf(RecordAt(leaf, index)).SequenceEqual(expected.WrittenSpan))
                {
                    return false;
                }

                RemoveAt(leaf, index);
                return true;
            }
        }
        finally
        {
            EncodeBuffer.Return(expected);
        }
    }

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        lock (_lock)
        {
            if (!Locate(key, out var leaf, out var index) || !match(key, _valueCodec.Read(NativeRecord.ValueOf(RecordAt(leaf, index))), state))
            {
                return 0;
            }

            // The match may have read the table (the lock is reentrant), never written it: the place still holds.
            RemoveAt(leaf, index);
            return 1;
        }
    }

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        lock (_lock)
        {
            if (!Locate(key, out var leaf, out var index))
            {
                return 0;
            }

            var record = RecordAt(leaf, index);
            var current = _valueCodec.Read(NativeRecord.ValueOf(record));
            if (!where(key, current))
            {
                return 0;
            }

            // Encoded before anything changes: a codec or function that throws leaves the object as it was.
            Swap(leaf, index, NewRecord(NativeRecord.KeyOf(record), replace(key, current)));
            return 1;
        }
    }

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        lock (_lock)
        {
            found = Locate(key, out var leaf, out var index);
            var current = found ? _valueCodec.Read(NativeRecord.ValueOf(RecordAt(leaf, index))) : default!;
            if (!update(key, found, current, state, out var next))
            {
                return current;
            }

            var record = NewRecord(key, next);
            if (found)
            {
                Swap(leaf, index, record);
            }
            else
            {
                InsertAt(leaf, index, record, key);
            }

            return next;
        }
    }

    public override void Clear()
    {
        lock (_lock)
        {
            _leaves.Reset();
            Volatile.Write(ref _count, 0);
            Volatile.Write(ref _bytes, 0);
        }
    }

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse) => Walk(new Bound(false, default!, false), !reverse, null);

    public override IEnumerable<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to) => Walk(new Bound(true, from, true), true, new Bound(true, to, true));

    public override bool TryFirst(out TKey key) => TryStep(new Bound(false, default!, false), forward: true, out key);

    public override bool TryLast(out TKey key) => TryStep(new Bound(false, default!, false), forward: false, out key);

    public override bool TryNext(TKey key, out TKey next) => TryStep(new Bound(true, key, false), forward: true, out next);

    public override bool TryPrevious(TKey key, out TKey previous) => TryStep(new Bound(true, key, false), forward: false, out previous);

    public override void Fix()
    {
    }

    public override void Unfix()
    {
    }

    protected override void LockAllWriters() => _lock.Enter();

    protected override void UnlockAllWriters() => _lock.Exit();

    private static NativeRecord* RecordAt(int leaf, int index, List<NativeLeaves<TKey>.Leaf> leaves) => (NativeRecord*)leaves[leaf].Records[index];

    private NativeRecord* RecordAt(int leaf, int index) => RecordAt(leaf, index, Leaves);

    private TKey KeyOf(NativeRecord* record) => _keyCodec.Read(NativeRecord.KeyOf(record));

    /// <summary>Finds a key: its leaf and index when found; else the leaf it belongs in and the index of the first
    /// greater key there (possibly the leaf's count). Caller holds the lock.</summary>
    private bool Locate(TKey key, out int leafIndex, out int index)
    {
        // The last leaf whose first key is not greater; the first leaf takes keys below every other.
        var leaves = Leaves;
        int low = 1, high = leaves.Count - 1;
        leafIndex = 0;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (_comparer.Compare(leaves[middle].First, key) <= 0)
            {
                leafIndex = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        var leaf = leaves[leafIndex];
        low = 0;
        high = leaf.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var comparison = _comparer.Compare(KeyOf((NativeRecord*)leaf.Records[middle]), key);
            if (comparison == 0)
            {
                index = middle;
                return true;
            }

            if (comparison < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        index = low;
        return false;
    }

    /// <summary>Inserts the object, or replaces it (key included, as ETS's ordered_set does for keys that compare
    /// equal) unless <paramref name="replace"/> is false. The record is built before the lock is taken.</summary>
    private bool Put(TKey key, TValue value, bool replace)
    {
        var record = NewRecord(key, value);
        lock (_lock)
        {
            return Put(key, record, replace);
        }
    }

    /// <summary>Stores a record built for <paramref name="key"/>, or frees it when the key is there and
    /// <paramref name="replace"/> is false. Caller holds the lock.</summary>
    private bool Put(TKey key, NativeRecord* record, bool replace)
    {
        if (!Locate(key, out var leaf, out var index))
        {
            InsertAt(leaf, index, record, key);
            return true;
        }

        if (replace)
        {
            Swap(leaf, index, record);
            if (index == 0)
            {
                Leaves[leaf].First = key;
            }

            return true;
        }

        NativeRecord.Free(record);
        return false;
    }

    private NativeRecord* NewRecord(TKey key, TValue value)
    {
        var buffer = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_keyCodec, buffer, key, "key");
            var keyLength = buffer.WrittenCount;
            OffHeapEncoding.Encode(_valueCodec, buffer, value, "value");
            return NativeRecord.Create(0, buffer.Slice(0, keyLength), buffer.Slice(keyLength, buffer.WrittenCount - keyLength));
        }
        finally
        {
            EncodeBuffer.Return(buffer);
        }
    }

    private NativeRecord* NewRecord(ReadOnlySpan<byte> key, TValue value)
    {
        var buffer = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_valueCodec, buffer, value, "value");
            return NativeRecord.Create(0, key, buffer.WrittenSpan);
        }
        finally
        {
            EncodeBuffer.Return(buffer);
        }
    }

    private void Swap(int leaf, int index, NativeRecord* record)
    {
        var old = RecordAt(leaf, index);
        Leaves[leaf].Records[index] = (nint)record;
        Volatile.Write(ref _bytes, _bytes + NativeRecord.Footprint(record) - NativeRecord.Footprint(old));
        NativeRecord.Free(old);
    }

    /// <summary>Inserts a record at its place, making room in a full leaf first: a record past its end starts a new
    /// leaf (keys arriving in order then fill every leaf), any other splits it in two halves.</summary>
    private void InsertAt(int leafIndex, int index, NativeRecord* record, TKey key)
    {
        var leaf = Leaves[leafIndex];
        if (leaf.Count == NativeLeaves<TKey>.Capacity && index == leaf.Count)
        {
            leaf = new NativeLeaves<TKey>.Leaf();
            Leaves.Insert(leafIndex + 1, leaf);
            index = 0;
        }
        else if (leaf.Count == NativeLeaves<TKey>.Capacity)
        {
            var right = Split(leafIndex);
            if (index > leaf.Count)
            {
                index -= leaf.Count;
                leaf = right;
            }
        }

        Array.Copy(leaf.Records, index, leaf.Records, index + 1, leaf.Count - index);
        leaf.Records[index] = (nint)record;
        leaf.Count++;
        if (index == 0)
        {
            leaf.First = key;
        }

        Volatile.Write(ref _count, _count + 1);
        Volatile.Write(ref _bytes, _bytes + NativeRecord.Footprint(record));
    }

    private NativeLeaves<TKey>.Leaf Split(int leafIndex)
    {
        var leaf = Leaves[leafIndex];
        var half = leaf.Count / 2;
        var right = new NativeLeaves<TKey>.Leaf { Count = leaf.Count - half };
        Array.Copy(leaf.Records, half, right.Records, 0, right.Count);
        Array.Clear(leaf.Records, half, right.Count);
        leaf.Count = half;
        right.First = KeyOf((NativeRecord*)right.Records[0]);
        Leaves.Insert(leafIndex + 1, right);
        return right;
    }

    private void RemoveAt(int leafIndex, int index)
    {
        var leaf = Leaves[leafIndex];
        var record = (NativeRecord*)leaf.Records[index];
        Array.Copy(leaf.Records, index + 1, leaf.Records, index, leaf.Count - index - 1);
        leaf.Records[--leaf.Count] = 0;
        if (leaf.Count == 0 && Leaves.Count > 1)
        {
            Leaves.RemoveAt(leafIndex);
        }
        else if (index == 0 && leaf.Count > 0)
        {
            leaf.First = KeyOf((NativeRecord*)leaf.Records[0]);
        }

        Volatile.Write(ref _count, _count - 1);
        Volatile.Write(ref _bytes, _bytes - NativeRecord.Footprint(record));
        NativeRecord.Free(record);
    }

    /// <summary>The objects from a bound on, in key order or backwards, to <paramref name="end"/> (inclusive) if given:
    /// a chunk copied under the lock at a time, the next chunk found from the last key returned, so the walk never
    /// visits a key twice whatever changes between chunks.</summary>
    private IEnumerable<KeyValuePair<TKey, TValue>> Walk(Bound bound, bool forward, Bound? end)
    {
        var chunk = new RecordChunk();
        while (true)
        {
            CopyFrom(bound, forward, chunk, ChunkObjects);
            if (chunk.Count == 0)
            {
                yield break;
            }

            for (var i = 0; i < chunk.Count; i++)
            {
                var key = _keyCodec.Read(chunk.Key(i));
                if (end is { } last && (forward ? _comparer.Compare(key, last.Key) > 0 : _comparer.Compare(key, last.Key) < 0))
                {
                    yield break;
                }

                bound = new Bound(true, key, false);
                yield return new(key, _valueCodec.Read(chunk.Value(i)));
            }
        }
    }

    private bool TryStep(Bound bound, bool forward, out TKey key)
    {
        var chunk = RecordChunk.Rent();
        try
        {
            CopyFrom(bound, forward, chunk, 1, withValues: false);
            key = chunk.Count > 0 ? _keyCodec.Read(chunk.Key(0)) : default!;
            return chunk.Count > 0;
        }
        finally
        {
            RecordChunk.Return(chunk);
        }
    }

    /// <summary>Copies up to <paramref name="limit"/> objects that follow the bound (or precede it, backwards).</summary>
    private void CopyFrom(Bound bound, bool forward, RecordChunk chunk, int limit, bool withValues = true)
    {
        chunk.Clear();
        lock (_lock)
        {
            var leaves = Leaves;
            int leaf, index;
            if (!bound.IsSet)
            {
                leaf = forward ? 0 : leaves.Count - 1;
                index = forward ? 0 : leaves[leaf].Count - 1;
            }
            else
            {
                var found = Locate(bound.Key, out leaf, out index);
                index = forward
                    ? (found && !bound.Inclusive ? index + 1 : index)
                    : (found && bound.Inclusive ? index : index - 1);
            }

            while (chunk.Count < limit && Normalize(leaves, forward, ref leaf, ref index))
            {
                chunk.Add(RecordAt(leaf, index, leaves), withValues);
                index += forward ? 1 : -1;
            }
        }
    }

    /// <summary>Moves a position that ran off its leaf to the next leaf's first (or previous leaf's last) record;
    /// false past either end.</summary>
    private static bool Normalize(List<NativeLeaves<TKey>.Leaf> leaves, bool forward, ref int leaf, ref int index)
    {
        while (forward ? index >= leaves[leaf].Count : index < 0)
        {
            leaf += forward ? 1 : -1;
            if (leaf < 0 || leaf >= leaves.Count)
            {
                return false;
            }

            index = forward ? 0 : leaves[leaf].Count - 1;
        }

        return true;
    }

    /// <summary>Where a walk starts: nowhere in particular (IsSet false: an end of the table), or at a key, included
    /// or not.</summary>
    private readonly record struct Bound(bool IsSet, TKey Key, bool Inclusive);
}
