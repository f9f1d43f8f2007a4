using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>Native memory unlinked from an off-heap table, waiting for <see cref="EpochReclaimer"/> to free it: one
/// block, a block records were carved from, or a whole bucket array with every record chained from it (a cleared
/// table).</summary>
internal readonly unsafe struct RetiredBlock
{
    // Marks a block records were carved from, in place of a count of chained buckets.
    private const int CarvedBlock = -1;

    private readonly void* _pointer;
    private readonly int _chainedBuckets;

    private RetiredBlock(void* pointer, int chainedBuckets)
    {
        _pointer = pointer;
        _chainedBuckets = chainedBuckets;
    }

    /// <summary>One allocation: a record, or a bucket array whose records now hang from another.</summary>
    public static RetiredBlock Of(void* pointer) => new(pointer, 0);

    /// <summary>A bucket array of <paramref name="length"/> heads and every record chained from them.</summary>
    public static RetiredBlock WithChains(NativeRecord** heads, int length) => new(heads, length);

    /// <summary>A block records were carved from, none of them linked any more.</summary>
    public static RetiredBlock OfRecordBlock(RecordBlock* block) => new(block, CarvedBlock);

    public void Free()
    {
        if (_chainedBuckets == CarvedBlock)
        {
            RecordBlock.Free((RecordBlock*)_pointer);
            return;
        }

        var heads = (NativeRecord**)_pointer;
        for (var i = 0; i < _chainedBuckets; i++)
        {
            var record = heads[i];
            while (record is not null)
            {
                var next = record->Next;
                NativeRecord.Free(record);
                record = next;
            }
        }

        NativeMemory.Free(_pointer);
    }
}
