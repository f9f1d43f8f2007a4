using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>Traversal of the off-heap hash store: a cursor in split order, one bucket's records copied per lock.</summary>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue>
{
    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse)
    {
        // Hash tables have one order both ways, as ETS's foldr on a set.
        var chunk = new RecordChunk();
        var cursor = Cursor.Start;
        while (CopyNext(ref cursor, chunk, ChunkObjects, withValues: true))
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                yield return new(_keyCodec.Read(chunk.Key(i)), _valueCodec.Read(chunk.Value(i)));
            }
        }
    }

    public override bool TryFirst(out TKey key) => TryNextFrom(Cursor.Start, out key);

    public override bool TryLast(out TKey key) => TryFirst(out key);

    public override bool TryNext(TKey key, out TKey next)
    {
        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            var keyBytes = probe.Slice(0, keyLength);

            // A fixed table accepts any key: its place in the order is known whether or not it is still there.
            if (!IsFixed && !Contains(keyBytes, hash))
            {
                throw new TableException(TableError.BadKey, $"Key {key} is not in the table: next/previous from a key needs the key to exist, unless the table is fixed (Table.Fix) while traversing.");
            }

            return TryNextFrom(new Cursor(Reverse(hash), keyBytes.ToArray()), out next);
        }
        finally
        {
            EncodeBuffer.Return(probe);
        }
    }

    public override bool TryPrevious(TKey key, out TKey previous) => TryNext(key, out previous);

    /// <summary>The first key after the cursor, or false at the end.</summary>
    private bool TryNextFrom(Cursor cursor, out TKey key)
    {
        var chunk = RecordChunk.Rent();
        try
        {
            var found = CopyNext(ref cursor, chunk, 1, withValues: false);
            key = found ? _keyCodec.Read(chunk.Key(0)) : default!;
            return found;
        }
        finally
        {
            RecordChunk.Return(chunk);
        }
    }

    /// <summary>
    /// Copies the objects that follow the cursor in traversal order, at least one key's worth and whole keys only,
    /// from one bucket under its stripe, and moves the cursor past them; false when none follow. The cursor is a place
    /// in the order, which resizing never changes: with 2^k buckets, the bucket holding reversed hash r is the one at
    /// position r's top k bits.
    /// </summary>
    private bool CopyNext(ref Cursor cursor, RecordChunk chunk, int limit, bool withValues)
    {
        chunk.Clear();
        while (cursor.From <= uint.MaxValue)
        {
            var order = (uint)cursor.From;
            var hash = Reverse(order);
            var hold = LockBucket(hash);
            try
            {
                var buckets = hold.Buckets;
                var record = First(*buckets.HeadOf(order), order, cursor.AfterKey);
                for (; record is not null; record = record->Next)
                {
                    if (chunk.Count >= limit && !SameKeyAsLast(record, chunk))
                    {
                        break;
                    }

                    chunk.Add(record, withValues);
                }

                if (record is not null)
                {
                    cursor = new Cursor(chunk.Order(chunk.Count - 1), chunk.Key(chunk.Count - 1).ToArray());
                    return true;
                }

                // The bucket is done: go on from the start of the next bucket's range.
                var shift = 32 - buckets.Bits;
                cursor = new Cursor(((cursor.From >> shift) + 1) << shift, null);
            }
            finally
            {
                Unlock(hold);
            }

            // Whole buckets so far: go on to the next one until the chunk is full.
            if (chunk.Count >= limit)
            {
                return true;
            }
        }

        return chunk.Count > 0;
    }

    /// <summary>The first record of a chain after the cursor: ordered after (order, key), or, with no key, from order on.</summary>
    private static NativeRecord* First(NativeRecord* record, uint order, byte[]? afterKey)
    {
        while (record is not null && (afterKey is null ? record->Order < order : NativeRecord.Compare(record, order, afterKey) <= 0))
        {
            record = record->Next;
        }

        return record;
    }

    private static bool SameKeyAsLast(NativeRecord* record, RecordChunk chunk) =>
        record->Order == chunk.Order(chunk.Count - 1) && NativeRecord.KeyOf(record).SequenceEqual(chunk.Key(chunk.Count - 1));

    /// <summary>A place in the traversal order: after (From, AfterKey), or from reversed hash From on when AfterKey is
    /// null. From past <see cref="uint.MaxValue"/> is the end.</summary>
    private readonly record struct Cursor(ulong From, byte[]? AfterKey)
    {
        public static Cursor Start => new(0, null);
    }
}
