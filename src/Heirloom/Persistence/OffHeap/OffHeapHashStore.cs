using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// Set, bag and duplicate-bag storage off the GC heap: every object is one <see cref="NativeRecord"/> (its key and
/// value encoded by the table's codecs), chained from a native bucket array. Nothing per object lives on the GC heap.
/// </summary>
/// <remarks>
/// <para>Keys are equal when their encoded bytes are equal, and hashed over those bytes; in a bag, a value is a
/// duplicate when its encoded bytes are equal. With the built-in codecs that is .NET equality, except that the doubles
/// -0.0 and 0.0 are different keys and NaNs are equal only to a NaN with the same payload.</para>
/// <para>Locking: writers take the stripe lock of the key's bucket. Readers of one key take none: they find and copy
/// its bytes (decoded afterwards) and keep the copy only if the stripe's version did not change meanwhile
/// (<see cref="StripeLock.Version"/>, a sequence lock), and unlinked records are retired to
/// <see cref="EpochReclaimer"/> rather than freed, so a reader never touches freed memory. Readers on several cores
/// therefore write no shared cache line (a lock word per read did, and two threads reading read slower than one). A
/// batch holds every stripe, so readers wait for it on the lock, and it is isolated.
/// Growing doubles the bucket array under every stripe. Traversals copy chunks under the lock.</para>
/// <para>Order: keys are traversed by (reversed hash, key bytes), split-ordered hashing. With 2^k buckets, bucket b
/// holds the reversed hashes whose top k bits are b, one contiguous range of the order, and each chain is kept
/// sorted. A key's place in the order does not depend on the table's size, so a traversal resumes after the last key it
/// returned, whatever grew meanwhile: no key is visited twice, next/2 works from a deleted key, and fixing the table
/// needs no tombstones (<see cref="Fix"/> only counts).</para>
/// </remarks>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue> : TableStore<TKey, TValue>, IOffHeapStore
    where TKey : notnull
{
    private const int LockCount = 1 << NativeBuckets.MinimumBits;

    // Objects copied out per lock taken while traversing (whole keys: a bag's values of one key are never split).
    private const int ChunkObjects = 64;

    // Keys of a fixed size up to this many bytes (the built-in codecs' primitives) are encoded on the stack.
    private const int StackKey = 16;

    // Reads without the lock tried before taking it: a writer holds a stripe for a few stores only.
    private const int OptimisticAttempts = 4;

    private readonly ICodec<TKey> _keyCodec;
    private readonly ICodec<TValue> _valueCodec;

    // The key codec when it writes a fixed size that fits StackKey: lookups encode the key on the stack with it.
    private readonly IFixedSizeCodec<TKey>? _stackKeyCodec;
    private readonly bool _isBag;
    private readonly bool _keepsDuplicates;
    private readonly StripeLock[] _locks = new StripeLock[LockCount];

    // Per stripe, guarded by it: the objects, and the bytes their records take.
    private readonly int[] _counts = new int[LockCount];
    private readonly long[] _bytes = new long[LockCount];
    private readonly NativeBuckets _memory = new();

    // Where compactions of carved blocks are queued: the node's seam.
    private readonly NodeScheduler _scheduler;

    // Objects a stripe may hold before the table doubles: one per bucket on average. Guarded by every stripe.
    private int _budget = 1;
    private int _fixCount;

    public OffHeapHashStore(TableType type, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, NodeScheduler scheduler)
    {
        _scheduler = scheduler;
        Debug.Assert(type != TableType.OrderedSet, "Ordered sets use the ordered off-heap store.");
        _isBag = type is TableType.Bag or TableType.DuplicateBag;
        _keepsDuplicates = type == TableType.DuplicateBag;
        _keyCodec = keyCodec;
        _valueCodec = valueCodec;
        _stackKeyCodec = keyCodec is IFixedSizeCodec<TKey> { Size: <= StackKey } stackKey ? stackKey : null;
    }

    public override long Count
    {
        get
        {
            long total = 0;
            for (var i = 0; i < LockCount; i++)
            {
                total += Volatile.Read(ref _counts[i]);
            }

            return total;
        }
    }

    /// <summary>Every native byte the table holds: its records, the blocks records were carved from and its bucket
    /// array.</summary>
    public long NativeBytes => RecordBytes + _memory.Blocks.Bytes + _memory.Current.Footprint;

    /// <summary>The bytes of the blocks loaded records were carved from that the table still holds.</summary>
    public long CarvedBlockBytes => _memory.Blocks.Bytes;

    // The records of their own allocation (a carved record's bytes are its block's).
    private long RecordBytes
    {
        get
        {
            long total = 0;
            for (var i = 0; i < LockCount; i++)
            {
                total += Volatile.Read(ref _bytes[i]);
            }

            return total;
        }
    }

    /// <summary>The native bytes per object, rounded up, so that count times this is the table's real footprint.</summary>
    public override int BytesPerObject
    {
        get
        {
            var count = Math.Max(1, Count);
            return (int)Math.Min(int.MaxValue, (NativeBytes + count - 1) / count);
        }
    }

    public override bool IsFixed => Volatile.Read(ref _fixCount) > 0;

    public override StoreCapabilities Capabilities => StoreCapabilities.LockFreeReads;

    [SkipLocalsInit]
    public override bool TryGetValue(TKey key, out TValue value)
    {
        if (_stackKeyCodec is { } codec)
        {
            Span<byte> room = stackalloc byte[StackKey];
            var bytes = room[..codec.Size];
            codec.WriteTo(bytes, key);
            return TryRead(bytes, ByteHash.Compute(bytes), out value);
        }

        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            return TryRead(probe.Slice(0, keyLength), hash, out value);
        }
        finally
        {
            EncodeBuffer.Return(probe);
        }
    }

    public override TValue[] Lookup(TKey key)
    {
        var chunk = RecordChunk.Rent();
        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            Snapshot(probe.Slice(0, keyLength), hash, chunk);
            return DecodeValues(chunk);
        }
        finally
        {
            EncodeBuffer.Return(probe);
            RecordChunk.Return(chunk);
        }
    }

    [SkipLocalsInit]
    public override bool ContainsKey(TKey key)
    {
        if (_stackKeyCodec is { } codec)
        {
            Span<byte> room = stackalloc byte[StackKey];
            var bytes = room[..codec.Size];
            codec.WriteTo(bytes, key);
            return Contains(bytes, ByteHash.Compute(bytes));
        }

        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            return Contains(probe.Slice(0, keyLength), hash);
        }
        finally
        {
            EncodeBuffer.Return(probe);
        }
    }

    // Inside this thread's batch every stripe is held already, and the ordinary reads see that and take none.
    public override bool ContainsKeyInBatch(TKey key) => ContainsKey(key);

    public override TValue[] LookupInBatch(TKey key) => Lookup(key);

    public override void Insert(TKey key, TValue value) => Store(key, value, replace: true);

    public override bool InsertNew(TKey key, TValue value) => Store(key, value, replace: false);

    /// <summary>Encodes an object and stores it: a set replaces the key's value (or, unless <paramref name="replace"/>,
    /// keeps it), a bag appends; returns whether it was stored.</summary>
    private bool Store(TKey key, TValue value, bool replace)
    {
        var buffer = EncodeObject(key, value, out var keyLength, out var hash);
        try
        {
            return StoreEncoded(buffer.Slice(0, keyLength), buffer.Slice(keyLength, buffer.WrittenCount - keyLength), hash, replace);
        }
        finally
        {
            EncodeBuffer.Return(buffer);
        }
    }

    /// <summary>Copies an encoded object into a new record and links it in its place (see <see cref="InsertLocked"/>),
    /// growing the table when its stripe outgrew its budget.</summary>
    private bool StoreEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, uint hash, bool replace) =>
        Link(NativeRecord.Create(Reverse(hash), key, value), hash, replace);

    /// <summary>Links a record made already in its place under its stripe's lock (see <see cref="InsertLocked"/>),
    /// growing the table when its stripe outgrew its budget; returns whether it was inserted.</summary>
    private bool Link(NativeRecord* record, uint hash, bool replace)
    {
        var hold = LockBucket(hash);
        bool outgrew, inserted;
        try
        {
            outgrew = InsertLocked(hold, record, hash, replace, out inserted);
        }
        finally
        {
            Unlock(hold);
        }

        GrowIf(outgrew, hold.Buckets);
        return inserted;
    }

    /// <summary>Encodes every object first, so that one its codecs cannot encode leaves the table unchanged.</summary>
    public override void InsertAll(IReadOnlyList<KeyValuePair<TKey, TValue>> objects)
    {
        var records = new nint[objects.Count];
        var hashes = new uint[objects.Count];
        var inserted = 0;
        try
        {
            for (var i = 0; i < records.Length; i++)
            {
                var buffer = EncodeObject(objects[i].Key, objects[i].Value, out var keyLength, out hashes[i]);
                try
                {
                    records[i] = (nint)NativeRecord.Create(Reverse(hashes[i]), buffer.Slice(0, keyLength), buffer.Slice(keyLength, buffer.WrittenCount - keyLength));
                }
                finally
                {
                    EncodeBuffer.Return(buffer);
                }
            }

            for (; inserted < records.Length; inserted++)
            {
                Link((NativeRecord*)records[inserted], hashes[inserted], replace: true);
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
        var chunk = RecordChunk.Rent();
        try
        {
            WithRun(key, chunk, static (store, first, hash, key, stripe, taken) =>
            {
                for (var record = *first; record is not null && SameKey(record, hash, key); record = record->Next)
                {
                    taken!.AddValue(record);
                }

                return store.RemoveRun(first, hash, key, stripe, []);
            });

            // Decoded once the lock is released: the bytes are the objects, whatever the codec makes of them.
            return DecodeValues(chunk);
        }
        finally
        {
            RecordChunk.Return(chunk);
        }
    }

    public override bool Delete(TKey key) =>
        WithRun(key, null, static (store, first, hash, key, stripe, _) => store.RemoveRun(first, hash, key, stripe, [])) > 0;

    /// <summary>Deletes the objects of the key whose encoded value equals <paramref name="value"/>'s: off-heap, an
    /// object is its bytes.</summary>
    public override bool DeleteObject(TKey key, TValue value)
    {
        var expected = RecordChunk.Rent();
        var buffer = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_valueCodec, buffer, value, "value");
            expected.AddBytes(buffer.WrittenSpan);
        }
        finally
        {
            EncodeBuffer.Return(buffer);
        }

        try
        {
            return WithRun(key, expected, static (store, first, hash, key, stripe, expected) =>
            {
                var run = RunLength(*first, hash, key);
                Span<bool> remove = run <= 64 ? stackalloc bool[run] : new bool[run];
                var record = *first;
                for (var i = 0; i < run; i++, record = record->Next)
                {
                    remove[i] = NativeRecord.ValueOf(record).SequenceEqual(expected!.Value(0));
                }

                return store.RemoveRun(first, hash, key, stripe, remove);
            }) > 0;
        }
        finally
        {
            RecordChunk.Return(expected);
        }
    }

    /// <summary>
    /// Deletes the key's objects that <paramref name="match"/> accepts. The function runs with no lock held, on the
    /// values as they were read; they are removed only if the key's objects are still those bytes, and otherwise read
    /// and matched again (so the match may run more than once: keep it pure). A reader inside the function therefore
    /// never waits for the lock it runs under.
    /// </summary>
    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        var seen = RecordChunk.Rent();
        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            while (true)
            {
                Snapshot(probe.Slice(0, keyLength), hash, seen);
                if (seen.Count == 0)
                {
                    return 0;
                }

                var remove = new bool[seen.Count];
                var any = false;
                for (var i = 0; i < remove.Length; i++)
                {
                    any |= remove[i] = match(key, _valueCodec.Read(seen.Value(i)), state);
                }

                if (!any)
                {
                    return 0;
                }

                var removed = WithRun(probe.Slice(0, keyLength), hash, seen, (store, first, hash, keyBytes, stripe, seen) =>
                    RunEquals(*first, hash, keyBytes, seen!) ? store.RemoveRun(first, hash, keyBytes, stripe, remove) : -1);
                if (removed >= 0)
                {
                    return removed;
                }
            }
        }
        finally
        {
            EncodeBuffer.Return(probe);
            RecordChunk.Return(seen);
        }
    }

    /// <summary>
    /// Replaces the key's objects that <paramref name="where"/> accepts with what <paramref name="replace"/> makes of
    /// them, each in its place. As <see cref="DeleteWhere"/>, the functions run with no lock held and their results are
    /// stored only if the key's objects are still the bytes they saw (else they run again); every replacement is
    /// encoded before any is stored, so a codec or function that throws changes nothing.
    /// </summary>
    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        var seen = RecordChunk.Rent();
        var probe = EncodeKey(key, out var keyLength, out var hash);
        var replacements = new List<nint>();
        try
        {
            while (true)
            {
                FreeAll(replacements);
                Snapshot(probe.Slice(0, keyLength), hash, seen);
                for (var i = 0; i < seen.Count; i++)
                {
                    var current = _valueCodec.Read(seen.Value(i));
                    replacements.Add(where(key, current) ? (nint)NewRecord(hash, probe.Slice(0, keyLength), replace(key, current)) : 0);
                }

                if (replacements.TrueForAll(static r => r == 0))
                {
                    return 0;
                }

                var replaced = WithRun(probe.Slice(0, keyLength), hash, seen, (store, first, hash, keyBytes, stripe, seen) =>
                    RunEquals(*first, hash, keyBytes, seen!) ? store.SwapRecords(first, replacements, stripe) : -1);
                if (replaced >= 0)
                {
                    return replaced;
                }
            }
        }
        finally
        {
            FreeAll(replacements);
            EncodeBuffer.Return(probe);
            RecordChunk.Return(seen);
        }
    }

    /// <summary>
    /// The atomic update of a key (sets only). The function runs with no lock held, on the value as read; its result
    /// is stored only if the key still holds those bytes (or is still absent), and otherwise it runs again on the new
    /// value, as <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/>'s AddOrUpdate does. The
    /// outcome is the same as running it under the key's lock, for a function of its arguments only.
    /// </summary>
    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        Debug.Assert(!_isBag, "Updates apply to sets only.");
        var seen = RecordChunk.Rent();
        var buffer = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            while (true)
            {
                Snapshot(buffer.Slice(0, keyLength), hash, seen);
                found = seen.Count > 0;
                var current = found ? _valueCodec.Read(seen.Value(0)) : default!;
                if (!update(key, found, current, state, out var next))
                {
                    return current;
                }

                // Encoded after the key, before any lock: a codec that throws leaves the table as it was.
                buffer.Truncate(keyLength);
                OffHeapEncoding.Encode(_valueCodec, buffer, next, "value");
                if (TryStoreUpdate(buffer, keyLength, hash, seen))
                {
                    return next;
                }
            }
        }
        finally
        {
            EncodeBuffer.Return(buffer);
            RecordChunk.Return(seen);
        }
    }

    public override void Clear()
    {
        // Called inside a batch (every stripe held already); taking them again is then free.
        LockAllWriters();
        try
        {
            _memory.Reset(RecordBytes);
            _budget = 1;
            Array.Clear(_counts);
            Array.Clear(_bytes);
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    public override void Fix()
    {
        LockAllWriters();
        _fixCount++;
        UnlockAllWriters();
    }

    public override void Unfix()
    {
        LockAllWriters();
        try
        {
            if (_fixCount == 0)
            {
                throw new TableException(TableError.BadArgument, "The table is not fixed.");
            }

            _fixCount--;
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    private static uint Reverse(uint value)
    {
        value = ((value >> 1) & 0x55555555u) | ((value & 0x55555555u) << 1);
        value = ((value >> 2) & 0x33333333u) | ((value & 0x33333333u) << 2);
        value = ((value >> 4) & 0x0F0F0F0Fu) | ((value & 0x0F0F0F0Fu) << 4);
        return BinaryPrimitives.ReverseEndianness(value);
    }

    /// <summary>The link (a bucket's head or a record's next) to the first record not ordered before the key, and
    /// whether that record holds the key. Caller holds the bucket's stripe.</summary>
    private static NativeRecord** Seek(NativeBuckets.BucketArray buckets, uint hash, ReadOnlySpan<byte> key, out bool found)
    {
        var order = Reverse(hash);
        var link = buckets.HeadOf(order);
        while (*link is not null)
        {
            var comparison = NativeRecord.Compare(*link, order, key);
            if (comparison >= 0)
            {
                found = comparison == 0;
                return link;
            }

            link = &(*link)->Next;
        }

        found = false;
        return link;
    }

    private static bool SameKey(NativeRecord* record, uint hash, ReadOnlySpan<byte> key) =>
        NativeRecord.Compare(record, Reverse(hash), key) == 0;

    private EncodeBuffer EncodeKey(TKey key, out int keyLength, out uint hash)
    {
        var buffer = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_keyCodec, buffer, key, "key");
        }
        catch
        {
            EncodeBuffer.Return(buffer);
            throw;
        }

        keyLength = buffer.WrittenCount;
        hash = ByteHash.Compute(buffer.Slice(0, keyLength));
        return buffer;
    }

    /// <summary>The key's bytes, then the value's, in one buffer.</summary>
    private EncodeBuffer EncodeObject(TKey key, TValue value, out int keyLength, out uint hash)
    {
        var buffer = EncodeKey(key, out keyLength, out hash);
        try
        {
            OffHeapEncoding.Encode(_valueCodec, buffer, value, "value");
        }
        catch
        {
            EncodeBuffer.Return(buffer);
            throw;
        }

        return buffer;
    }

    private bool Contains(ReadOnlySpan<byte> key, uint hash)
    {
        var stripe = StripeOf(hash);
        var scope = EpochReclaimer.EnterRead();
        try
        {
            for (var attempt = 0; attempt < OptimisticAttempts; attempt++)
            {
                var version = _locks[stripe].Version;
                if ((version & 1) != 0)
                {
                    break;
                }

                var found = Find(_memory.Current, hash, key) is not null;
                Volatile.ReadBarrier();
                if (_locks[stripe].Version == version)
                {
                    return found;
                }
            }
        }
        finally
        {
            scope.Exit();
        }

        var hold = LockBucket(hash);
        try
        {
            Seek(hold.Buckets, hash, key, out var found);
            return found;
        }
        finally
        {
            Unlock(hold);
        }
    }

    private TValue[] DecodeValues(RecordChunk chunk)
    {
        if (chunk.Count == 0)
        {
            return [];
        }

        var values = new TValue[chunk.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = _valueCodec.Read(chunk.Value(i));
        }

        return values;
    }

    /// <summary>Links a new record in its place: a set replaces the key's record (or, unless <paramref name="replace"/>,
    /// keeps it and frees the new one); a bag appends it after the key's values unless it is a duplicate. Returns whether
    /// the stripe outgrew its budget. Caller holds the stripe.</summary>
    private bool InsertLocked(Hold hold, NativeRecord* record, uint hash, bool replace, out bool inserted)
    {
        var link = Seek(hold.Buckets, hash, NativeRecord.KeyOf(record), out var found);
        inserted = !found || (replace && (_isBag ? AppendToBag(link, record, hold.Stripe) : Swap(link, record, hold.Stripe)));
        if (!found)
        {
            record->Next = *link;
            Publish(link, record);
            return Added(hold.Stripe, record);
        }

        if (!inserted)
        {
            FreeUnlinked(record);
        }

        return false;
    }

    /// <summary>Appends a bag value after the key's others (insertion order), unless a plain bag holds its bytes.</summary>
    private bool AppendToBag(NativeRecord** first, NativeRecord* record, int stripe)
    {
        var last = *first;
        while (true)
        {
            if (!_keepsDuplicates && NativeRecord.ValueOf(last).SequenceEqual(NativeRecord.ValueOf(record)))
            {
                return false;
            }

            if (last->Next is null || !NativeRecord.SameKey(last->Next, record))
            {
                break;
            }

            last = last->Next;
        }

        record->Next = last->Next;
        Publish(&last->Next, record);
        Added(stripe, record);
        return true;
    }

    /// <summary>Puts <paramref name="record"/> where the record at <paramref name="link"/> was, and frees that one.</summary>
    private bool Swap(NativeRecord** link, NativeRecord* record, int stripe)
    {
        var old = *link;
        record->Next = old->Next;
        Publish(link, record);
        _bytes[stripe] += NativeRecord.Footprint(record) - NativeRecord.Footprint(old);
        Retire(stripe, old);
        return true;
    }

    private bool Added(int stripe, NativeRecord* record)
    {
        _bytes[stripe] += NativeRecord.Footprint(record);
        return ++_counts[stripe] > _budget;
    }

    private void Removed(int stripe, NativeRecord* record)
    {
        _bytes[stripe] -= NativeRecord.Footprint(record);
        _counts[stripe]--;
        Retire(stripe, record);
    }

    /// <summary>Hands an unlinked record to be freed once no reader is in it. Caller holds the stripe.</summary>
    private void Retire(int stripe, NativeRecord* record)
    {
        var compact = _memory.Retire(stripe, record, NativeRecord.Footprint(record));
        if (compact is not null)
        {
            QueueCompaction(compact);
        }
    }

    /// <summary>Frees a record that was never linked (a duplicate, or one a failed load made).</summary>
    private void FreeUnlinked(NativeRecord* record)
    {
        if (record->Carving == NativeRecord.OwnAllocation)
        {
            NativeRecord.Free(record);
        }
        else if (_memory.Blocks.Unlinked(record))
        {
            QueueCompaction(RecordBlock.Of(record));
        }
    }

    /// <summary>A new record for the key, with a value encoded here (so it may throw, before anything changed).</summary>
    private NativeRecord* NewRecord(uint hash, ReadOnlySpan<byte> key, TValue value)
    {
        var buffer = EncodeBuffer.Rent();
        try
        {
            OffHeapEncoding.Encode(_valueCodec, buffer, value, "value");
            return NativeRecord.Create(Reverse(hash), key, buffer.WrittenSpan);
        }
        finally
        {
            EncodeBuffer.Return(buffer);
        }
    }

    private static void FreeAll(List<nint> records)
    {
        foreach (var record in records)
        {
            if (record != 0)
            {
                NativeRecord.Free((NativeRecord*)record);
            }
        }

        records.Clear();
    }

    /// <summary>Copies the values of a key, in order, into <paramref name="chunk"/> (emptied first).</summary>
    private void Snapshot(ReadOnlySpan<byte> key, uint hash, RecordChunk chunk)
    {
        var stripe = StripeOf(hash);
        var scope = EpochReclaimer.EnterRead();
        try
        {
            for (var attempt = 0; attempt < OptimisticAttempts; attempt++)
            {
                var version = _locks[stripe].Version;
                if ((version & 1) != 0)
                {
                    break;
                }

                chunk.Clear();
                CopyRun(Find(_memory.Current, hash, key), hash, key, chunk);
                Volatile.ReadBarrier();
                if (_locks[stripe].Version == version)
                {
                    return;
                }
            }
        }
        finally
        {
            scope.Exit();
        }

        chunk.Clear();
        var hold = LockBucket(hash);
        try
        {
            var first = Seek(hold.Buckets, hash, key, out var found);
            CopyRun(found ? *first : null, hash, key, chunk);
        }
        finally
        {
            Unlock(hold);
        }
    }

    /// <summary>Copies the values of the run of records that starts at <paramref name="first"/> (none when null).</summary>
    private static void CopyRun(NativeRecord* first, uint hash, ReadOnlySpan<byte> key, RecordChunk chunk)
    {
        for (var record = first; record is not null && SameKey(record, hash, key); record = Read(&record->Next))
        {
            chunk.AddValue(record);
        }
    }

    /// <summary>
    /// Decodes a set's value for a key straight from its record; false when the key is absent. Read without the
    /// stripe's lock: the value counts only if the stripe's version is the same even number before and after it (no
    /// writer in between), and the reclaimer keeps every record this thread may reach allocated meanwhile. A writer may
    /// overwrite a value of the same length in place, so the codec may meet torn bytes: whatever it made of them, or
    /// threw, is dropped when the version moved, and the read is tried again. A stripe held throughout (by a writer, or
    /// a batch holding every stripe) is read under its lock instead, which waits for it; the value is copied out there
    /// and decoded after the lock is released, so that no codec runs under a stripe lock.
    /// </summary>
    private bool TryRead(ReadOnlySpan<byte> key, uint hash, out TValue value)
    {
        var stripe = StripeOf(hash);
        var scope = EpochReclaimer.EnterRead();
        try
        {
            for (var attempt = 0; attempt < OptimisticAttempts; attempt++)
            {
                var version = _locks[stripe].Version;
                if ((version & 1) != 0)
                {
                    break;
                }

                var record = Find(_memory.Current, hash, key);
                if (record is null)
                {
                    Volatile.ReadBarrier();
                    if (_locks[stripe].Version == version)
                    {
                        value = default!;
                        return false;
                    }

                    continue;
                }

                TValue decoded;
                try
                {
                    decoded = _valueCodec.Read(NativeRecord.ValueOf(record));
                }
                catch when (_locks[stripe].Version != version)
                {
                    continue;
                }

                Volatile.ReadBarrier();
                if (_locks[stripe].Version == version)
                {
                    value = decoded;
                    return true;
                }
            }
        }
        finally
        {
            scope.Exit();
        }

        var copy = CopyLocked(key, hash);
        value = copy is null ? default! : _valueCodec.Read(copy);
        return copy is not null;
    }

    /// <summary>A copy of a set's value for a key read under its stripe's lock, or null when the key is absent.</summary>
    private byte[]? CopyLocked(ReadOnlySpan<byte> key, uint hash)
    {
        var hold = LockBucket(hash);
        try
        {
            var link = Seek(hold.Buckets, hash, key, out var found);
            return found ? NativeRecord.ValueOf(*link).ToArray() : null;
        }
        finally
        {
            Unlock(hold);
        }
    }

    /// <summary>The record holding the key, found without the stripe's lock: every link is read once, so a writer
    /// changing it meanwhile gives a stale or a newer record, never a torn pointer.</summary>
    private static NativeRecord* Find(NativeBuckets.BucketArray buckets, uint hash, ReadOnlySpan<byte> key)
    {
        var order = Reverse(hash);
        var record = Read(buckets.HeadOf(order));
        while (record is not null)
        {
            var comparison = NativeRecord.Compare(record, order, key);
            if (comparison >= 0)
            {
                return comparison == 0 ? record : null;
            }

            record = Read(&record->Next);
        }

        return null;
    }

    private static NativeRecord* Read(NativeRecord** link) => (NativeRecord*)Volatile.Read(ref *(nint*)link);

    /// <summary>Links a record in: its fields are written before it becomes reachable to a reader without a lock.</summary>
    private static void Publish(NativeRecord** link, NativeRecord* record) => Volatile.Write(ref *(nint*)link, (nint)record);

    private static int StripeOf(uint hash) => (int)(hash & (LockCount - 1));

    /// <summary>Whether the key's run still holds exactly the values a snapshot copied, in order.</summary>
    private static bool RunEquals(NativeRecord* first, uint hash, ReadOnlySpan<byte> key, RecordChunk seen)
    {
        var record = first;
        for (var i = 0; i < seen.Count; i++, record = record->Next)
        {
            if (record is null || !SameKey(record, hash, key) || !NativeRecord.ValueOf(record).SequenceEqual(seen.Value(i)))
            {
                return false;
            }
        }

        return record is null || !SameKey(record, hash, key);
    }

    private static int RunLength(NativeRecord* first, uint hash, ReadOnlySpan<byte> key)
    {
        var run = 0;
        for (var record = first; record is not null && SameKey(record, hash, key); record = record->Next)
        {
            run++;
        }

        return run;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the key's run of records under its stripe, when the key is there; 0 when it
    /// is not. The action gets the link to the run's first record.
    /// </summary>
    private int WithRun(TKey key, RecordChunk? chunk, RunAction action)
    {
        var probe = EncodeKey(key, out var keyLength, out var hash);
        try
        {
            return WithRun(probe.Slice(0, keyLength), hash, chunk, action);
        }
        finally
        {
            EncodeBuffer.Return(probe);
        }
    }

    private int WithRun(ReadOnlySpan<byte> key, uint hash, RecordChunk? chunk, RunAction action)
    {
        var hold = LockBucket(hash);
        try
        {
            var first = Seek(hold.Buckets, hash, key, out var found);
            return found ? action(this, first, hash, key, hold.Stripe, chunk) : 0;
        }
        finally
        {
            Unlock(hold);
        }
    }

    /// <summary>Unlinks and frees the run's records that <paramref name="remove"/> marks (all when it is empty).
    /// Caller holds the stripe.</summary>
    private int RemoveRun(NativeRecord** first, uint hash, ReadOnlySpan<byte> key, int stripe, ReadOnlySpan<bool> remove)
    {
        var removed = 0;
        var link = first;
        for (var i = 0; *link is not null && SameKey(*link, hash, key); i++)
        {
            if (remove.Length > 0 && !remove[i])
            {
                link = &(*link)->Next;
                continue;
            }

            var record = *link;
            *link = record->Next;
            Removed(stripe, record);
            removed++;
        }

        return removed;
    }

    /// <summary>Swaps each non-zero replacement in for the record at the same place of the run, and hands them to the
    /// table (the list is emptied). Caller holds the stripe.</summary>
    private int SwapRecords(NativeRecord** first, List<nint> replacements, int stripe)
    {
        var swapped = 0;
        var link = first;
        foreach (var replacement in replacements)
        {
            if (replacement != 0)
            {
                Swap(link, (NativeRecord*)replacement, stripe);
                swapped++;
            }

            link = &(*link)->Next;
        }

        replacements.Clear();
        return swapped;
    }

    /// <summary>Stores an update's value (encoded after the key in <paramref name="buffer"/>) if the key still holds
    /// what <paramref name="seen"/> copied (or is still absent when it copied nothing).</summary>
    private bool TryStoreUpdate(EncodeBuffer buffer, int keyLength, uint hash, RecordChunk seen)
    {
        var key = buffer.Slice(0, keyLength);
        var value = buffer.Slice(keyLength, buffer.WrittenCount - keyLength);
        var hold = LockBucket(hash);
        var outgrew = false;
        try
        {
            var link = Seek(hold.Buckets, hash, key, out var found);
            if (found != seen.Count > 0 || (found && !NativeRecord.ValueOf(*link).SequenceEqual(seen.Value(0))))
            {
                return false;
            }

            if (found && value.Length == (*link)->ValueLength)
            {
                // Readers copy under this stripe too, so an overwrite in place is never seen half done.
                NativeRecord.SetValue(*link, value);
            }
            else if (found)
            {
                Swap(link, NativeRecord.Create(Reverse(hash), key, value), hold.Stripe);
            }
            else
            {
                var record = NativeRecord.Create(Reverse(hash), key, value);
                record->Next = *link;
                Publish(link, record);
                outgrew = Added(hold.Stripe, record);
            }
        }
        finally
        {
            Unlock(hold);
        }

        GrowIf(outgrew, hold.Buckets);
        return true;
    }

    /// <summary>Acts on a key's run of records under its stripe; returns a count (or -1 for "changed, retry").</summary>
    private delegate int RunAction(OffHeapHashStore<TKey, TValue> store, NativeRecord** first, uint hash, ReadOnlySpan<byte> key, int stripe, RecordChunk? chunk);
}
