using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// The native memory of an off-heap hash table: its bucket array and every record chained from it. The owner of that
/// memory, so that a table nobody deleted (a node dropped without being disposed) does not leak it: the finalizer frees
/// it all once the store is unreachable. A live table is reachable from its node's registry until deleted, and deleting
/// it hands its records to the reclaimer at once (<see cref="Reset"/> through the store's Clear), which frees them as
/// soon as no reader without a lock is in them. Records unlinked one by one wait per stripe, then go to the reclaimer;
/// records carved from blocks while a snapshot loaded go with their blocks (<see cref="Blocks"/>).
/// </summary>
internal sealed unsafe class NativeBuckets
{
    /// <summary>The fewest buckets a table has: 64, so that every key of a bucket has the same stripe (its hash's low six
    /// bits, the bucket number's top six reversed) at every size, and a stripe lock taken before the table grows still
    /// guards the key's bucket after.</summary>
    public const int MinimumBits = 6;

    // Retired per stripe, guarded by it, handed to the reclaimer in batches: records unlinked by that stripe's writers.
    private const int StripeBatch = 256;
    private const long StripeBatchBytes = 256 << 10;

    // Each stripe's buffer is made once and reused for every batch: a buffer per batch would live until its stripe
    // filled it, long enough to survive a gen0 collection under a stream of updates, and be promoted for nothing.
    private readonly RetiredBlock[]?[] _retired = new RetiredBlock[]?[1 << MinimumBits];
    private readonly int[] _retiredCounts = new int[1 << MinimumBits];
    private readonly long[] _retiredBytes = new long[1 << MinimumBits];
    private volatile BucketArray _current = new(MinimumBits);

    // Unreachable, so no reader is in this memory: all of it goes at once, the records still waiting to be retired too,
    // and the blocks records were carved from last, since freeing the chains reads their records.
    ~NativeBuckets()
    {
        FreeChains(_current);
        for (var stripe = 0; stripe < _retired.Length; stripe++)
        {
            foreach (var block in _retired[stripe].AsSpan(0, _retiredCounts[stripe]))
            {
                block.Free();
            }
        }

        Blocks.FreeAll();
    }

    /// <summary>The blocks of the records carved while a snapshot loaded.</summary>
    public RecordBlocks Blocks { get; } = new();

    /// <summary>The current bucket array; replaced, never changed in size, while every stripe is held.</summary>
    public BucketArray Current => _current;

    /// <summary>Installs a new bucket array and retires the old one's heads (its records now hang from the new one; a
    /// reader without a lock may still be walking the old one). Caller holds every stripe.</summary>
    public void Replace(BucketArray grown)
    {
        var old = _current;
        _current = grown;
        EpochReclaimer.Retire([RetiredBlock.Of(old.Heads)], old.Footprint);
    }

    /// <summary>Starts over with the fewest buckets and retires every record, and the records waiting to be retired, at
    /// once; <paramref name="bytes"/> is what the records take. Caller holds every stripe.</summary>
    public void Reset(long bytes)
    {
        var old = _current;
        _current = new BucketArray(MinimumBits);
        for (var stripe = 0; stripe < _retired.Length; stripe++)
        {
            HandOver(stripe);
        }

        // The blocks after the chains: freeing the chains reads the records carved from them.
        EpochReclaimer.Retire([RetiredBlock.WithChains(old.Heads, old.Length)], bytes + old.Footprint);
        Blocks.RetireAll();
        EpochReclaimer.Flush();
    }

    /// <summary>Frees a record unlinked from its chain once no reader can be reading it, or, for a carved record, counts
    /// it out of its block. Returns the block when it should be compacted now, else null. Caller holds the stripe.</summary>
    public RecordBlock* Retire(int stripe, NativeRecord* record, long footprint)
    {
        if (record->Carving != NativeRecord.OwnAllocation)
        {
            return Blocks.Unlinked(record) ? RecordBlock.Of(record) : null;
        }

        var blocks = _retired[stripe] ??= new RetiredBlock[StripeBatch];
        blocks[_retiredCounts[stripe]++] = RetiredBlock.Of(record);
        _retiredBytes[stripe] += footprint;
        if (_retiredCounts[stripe] >= StripeBatch || _retiredBytes[stripe] >= StripeBatchBytes)
        {
            HandOver(stripe);
        }

        return null;
    }

    private void HandOver(int stripe)
    {
        if (_retiredCounts[stripe] > 0)
        {
            EpochReclaimer.Retire(_retired[stripe].AsSpan(0, _retiredCounts[stripe]), _retiredBytes[stripe]);
            _retiredCounts[stripe] = 0;
            _retiredBytes[stripe] = 0;
        }
    }

    private static void FreeChains(BucketArray buckets) => RetiredBlock.WithChains(buckets.Heads, buckets.Length).Free();

    /// <summary>2^<see cref="Bits"/> chains of records. Bucket b holds the keys whose reversed hash's top bits are b, each
    /// chain sorted by (reversed hash, key bytes): the buckets, in their order, are consecutive ranges of the traversal
    /// order, so a bucket b splits in two, when the table grows, by cutting its chain into buckets 2b and 2b + 1, and
    /// objects arriving in traversal order (a snapshot being loaded) fill the array from its start to its end.</summary>
    public sealed class BucketArray(int bits)
    {
        public readonly NativeRecord** Heads = (NativeRecord**)NativeMemory.AllocZeroed((nuint)(1 << bits), (nuint)sizeof(nint));

        public readonly int Bits = bits;

        public int Length => 1 << Bits;

        /// <summary>The link that heads the bucket of a key whose reversed hash is <paramref name="order"/>.</summary>
        public NativeRecord** HeadOf(uint order) => &Heads[order >> (32 - Bits)];

        /// <summary>Whether two reversed hashes fall in the same bucket.</summary>
        public bool SameBucket(uint order, uint other) => (order ^ other) >> (32 - Bits) == 0;

        public long Footprint => (long)Length * sizeof(nint);
    }
}
