using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// The native memory of an off-heap hash table: its bucket array and every record chained from it. The owner of that
/// memory, so that a table nobody deleted (a node dropped without being disposed) does not leak it: the finalizer frees
/// it all once the store is unreachable. A live table is reachable from its node's registry until deleted, and deleting
/// it frees its records at once (<see cref="FreeAll"/> through the store's Clear).
/// </summary>
internal sealed unsafe class NativeBuckets
{
    /// <summary>The fewest buckets a table has: 64, so that a bucket's stripe (its low six bits) is the same at every
    /// size, and a stripe lock taken before the table grows still guards the key's bucket after.</summary>
    public const int MinimumBits = 6;

    private volatile BucketArray _current = new(MinimumBits);

    ~NativeBuckets() => FreeAll(_current);

    /// <summary>The current bucket array; replaced, never changed in size, while every stripe is held.</summary>
    public BucketArray Current => _current;

    /// <summary>Installs a new bucket array and frees the old one's heads (its records now hang from the new one).
    /// Caller holds every stripe.</summary>
    public void Replace(BucketArray grown)
    {
        var old = _current;
        _current = grown;
        NativeMemory.Free(old.Heads);
    }

    /// <summary>Frees every record and starts over with the fewest buckets. Caller holds every stripe.</summary>
    public void Reset()
    {
        var old = _current;
        _current = new BucketArray(MinimumBits);
        FreeAll(old);
    }

    private static void FreeAll(BucketArray buckets)
    {
        for (var i = 0; i < buckets.Length; i++)
        {
            var record = buckets.Heads[i];
            while (record is not null)
            {
                var next = record->Next;
                NativeRecord.Free(record);
                record = next;
            }
        }

        NativeMemory.Free(buckets.Heads);
    }

    /// <summary>2^<see cref="Bits"/> chains of records. Bucket b holds the keys whose hash's low bits are b, each chain
    /// sorted by (reversed hash, key bytes), so that the keys of a bucket are a contiguous range of the traversal order
    /// and a bucket splits in two, when the table grows, by cutting its chain.</summary>
    public sealed class BucketArray(int bits)
    {
        public readonly NativeRecord** Heads = (NativeRecord**)NativeMemory.AllocZeroed((nuint)(1 << bits), (nuint)sizeof(nint));

        public readonly int Bits = bits;

        public int Length => 1 << Bits;

        public uint Mask => (uint)Length - 1;

        public long Footprint => (long)Length * sizeof(nint);
    }
}
