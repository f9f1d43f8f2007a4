using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.Intrinsics.X86;

namespace Heirloom.Persistence;

/// <summary>Loading a snapshot's objects as they are: a snapshot holds each object as its codecs wrote it, which is
/// exactly what a record holds, so nothing is decoded or encoded again.</summary>
/// <remarks><para>The loading thread makes the records (hashing each key and copying the bytes); a second thread links
/// them into their buckets, in batches, in the order they were made, so that a key loaded twice ends with its later
/// value, as inserting would leave it. Making a record waits for fresh memory and linking it for the record to come
/// from the other core: on two threads the two overlap. The linker prefetches the records a few places ahead of the
/// one it links, and their buckets' slots. A snapshot of fewer than one batch is linked on the loading thread, with no
/// second thread.</para>
/// <para>A snapshot of this store holds its objects in traversal order, which is the buckets' order. So while the
/// table was empty when loading began and each object comes after the last one linked, the record is appended after
/// that one with no search: every record in the table is ordered at or before it, so the new one is the last of its
/// bucket, after it in its bucket or first in a later, empty one, and the bucket array fills from its start to its
/// end. An object out of that order (a snapshot written by another store) is inserted as any other, and the last one
/// linked stays the greatest.</para>
/// <para>The records of a big snapshot are carved from blocks that another thread faults in ahead
/// (<see cref="RecordCarver"/>), instead of one C allocation each whose fresh pages the loading thread would fault in
/// itself.</para></remarks>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue> : IEncodedObjectLoader
{
    // How far ahead of the record being linked records and their buckets' slots are prefetched: enough misses in flight
    // to cover the memory's latency, few enough that they are still in the cache when they are linked.
    private const int LoadWindow = 16;

    // Records per batch handed to the linker, and batches made but not linked yet (the loading thread waits beyond).
    private const int LoadBatch = 4096;
    private const int LoadBatchesAhead = 8;

    // Snapshots of this many objects or more have their records carved from blocks (see RecordCarver).
    private const long CarveFrom = 1 << 16;

    // Whether loading may append (see the remarks): decided when the first record is linked, and the greatest record
    // linked so far. Used only by the thread that links, until EndLoading.
    private AppendState _appendState;
    private NativeRecord* _loadTail;
    private RecordCarver? _carver;
    private LoadedRecord[]? _loadBatch;
    private int _loadCount;
    private BlockingCollection<(LoadedRecord[] Batch, int Count)>? _toLink;
    private ConcurrentBag<LoadedRecord[]>? _spareBatches;
    private Thread? _linker;
    private ExceptionDispatchInfo? _linkFailure;

    public void LoadEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var hash = ByteHash.Compute(key);
        var order = Reverse(hash);
        var record = _carver is { } carver ? carver.Create(order, key, value) : NativeRecord.Create(order, key, value);
        var batch = _loadBatch ??= new LoadedRecord[LoadBatch];
        batch[_loadCount++] = new LoadedRecord(record, hash, order);
        if (_loadCount == LoadBatch)
        {
            HandToLinker();
        }
    }

    public void EndLoading()
    {
        try
        {
            LinkTheRest();
        }
        finally
        {
            // Every record is linked (or freed): the blocks' counts are exact once closed, and compaction may run.
            _carver?.Dispose();
            _carver = null;
            _loading = false;
        }

        _toLink = null;
        _linker = null;
        _appendState = AppendState.Undecided;
        _loadTail = null;
        _spareBatches = null;
        _loadBatch = null;
        _loadCount = 0;

        // The linker has ended (joined above), so its failure, if any, is seen here.
        var failure = _linkFailure;
        _linkFailure = null;
        failure?.Throw();
    }

    public void Reserve(long count)
    {
        // An empty table takes the bucket array it needs at once; a table holding objects doubles step by step, each
        // step splitting its chains.
        var bits = NativeBuckets.MinimumBits;
        while ((1L << bits) < count && bits < 30)
        {
            bits++;
        }

        if (Count == 0 && bits > _memory.Current.Bits)
        {
            ReplaceEmpty(bits);
        }

        while (_memory.Current is var buckets && buckets.Length < count && buckets.Bits < 30)
        {
            Grow(buckets);
        }

        // Once the buckets are there: a failure to make them leaves no thread behind.
        if (Count == 0 && count >= CarveFrom && _carver is null)
        {
            _loading = true;
            _carver = new RecordCarver(_memory.Blocks);
        }
    }

    private void LinkTheRest()
    {
        if (_toLink is { } toLink)
        {
            if (_loadCount > 0)
            {
                toLink.Add((_loadBatch!, _loadCount));
            }

            toLink.CompleteAdding();
            _linker!.Join();
            toLink.Dispose();
        }
        else if (_loadBatch is not null)
        {
            LinkBatch(_loadBatch, _loadCount);
        }
    }

    /// <summary>Gives the full batch to the linker (started with the first one) and takes a free one.</summary>
    private void HandToLinker()
    {
        if (_toLink is null)
        {
            _toLink = new BlockingCollection<(LoadedRecord[] Batch, int Count)>(LoadBatchesAhead);
            _spareBatches = [];
            _linker = new Thread(RunLinker) { IsBackground = true, Name = "Heirloom table loader" };
            _linker.Start();
        }

        _toLink.Add((_loadBatch!, _loadCount));
        _loadBatch = _spareBatches!.TryTake(out var spare) ? spare : new LoadedRecord[LoadBatch];
        _loadCount = 0;
    }

    /// <summary>The linker's loop. A failure stops the linking (the records not linked yet are freed) and is thrown by
    /// <see cref="EndLoading"/>; the loading thread is never blocked by it.</summary>
    private void RunLinker()
    {
        foreach (var (batch, count) in _toLink!.GetConsumingEnumerable())
        {
            if (_linkFailure is not null)
            {
                FreeBatch(batch, 0, count);
                continue;
            }

            try
            {
                LinkBatch(batch, count);
            }
            catch (Exception e)
            {
                _linkFailure = ExceptionDispatchInfo.Capture(e);
            }

            _spareBatches!.Add(batch);
        }
    }

    private void LinkBatch(LoadedRecord[] batch, int count)
    {
        var linked = 0;
        try
        {
            for (; linked < count; linked++)
            {
                if (Sse.IsSupported && linked + LoadWindow < count)
                {
                    var buckets = _memory.Current;
                    var ahead = batch[linked + LoadWindow];
                    Sse.Prefetch0(buckets.HeadOf(ahead.Order));
                    Sse.Prefetch0((void*)ahead.Record);
                }

                LinkLoaded((NativeRecord*)batch[linked].Record, batch[linked].Hash);
            }
        }
        catch
        {
            FreeBatch(batch, linked + 1, count);
            throw;
        }
    }

    /// <summary>Links a loaded record as an insert would (a set replaces, a bag appends), without the stripe's lock:
    /// loading runs before the table exists, and only the linker touches the buckets, so nothing can race it. A
    /// record's link is then a plain store that the processor completes in the background, where a lock's atomic
    /// instruction would wait, record after record, for the previous record's bucket to arrive from memory. A record
    /// ordered after the last one linked is appended (see the remarks).</summary>
    private void LinkLoaded(NativeRecord* record, uint hash)
    {
        var buckets = _memory.Current;
        if (_appendState == AppendState.Undecided)
        {
            _appendState = Count == 0 ? AppendState.Appending : AppendState.Inserting;
        }

        var tail = _loadTail;
        var afterTail = _appendState == AppendState.Inserting ? -1 : tail is null ? 1 : NativeRecord.Compare(record, tail->Order, NativeRecord.KeyOf(tail));
        if (afterTail > 0)
        {
            if (tail is not null && buckets.SameBucket(tail->Order, record->Order))
            {
                tail->Next = record;
            }
            else
            {
                *buckets.HeadOf(record->Order) = record;
            }

            _loadTail = record;
            GrowIf(Added(StripeOf(hash), record), buckets);
            return;
        }

        var outgrew = InsertLocked(new Hold(StripeOf(hash), Locked: false, buckets), record, hash, replace: true, out var inserted);

        // The tail's key again: the record replaced the tail (a set) or follows it (a bag), and is the greatest now.
        if (afterTail == 0 && inserted)
        {
            _loadTail = record;
        }

        GrowIf(outgrew, buckets);
    }

    private void FreeBatch(LoadedRecord[] batch, int from, int count)
    {
        for (var i = from; i < count; i++)
        {
            FreeUnlinked((NativeRecord*)batch[i].Record);
        }
    }

    private readonly record struct LoadedRecord(nint Record, uint Hash, uint Order)
    {
        public LoadedRecord(NativeRecord* record, uint hash, uint order)
            : this((nint)record, hash, order)
        {
        }
    }

    private enum AppendState
    {
        /// <summary>No record linked yet in this load.</summary>
        Undecided,

        /// <summary>The table was empty: records after the tail are appended.</summary>
        Appending,

        /// <summary>The table held objects when loading began: every record is inserted.</summary>
        Inserting,
    }
}
