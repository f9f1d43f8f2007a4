using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// The header of a native block that records are carved from while a snapshot loads (see <see cref="RecordBlocks"/>):
/// <see cref="Size"/> bytes aligned to their size, so that a record finds its block by masking its address, this header
/// first, then the records one after another, each rounded up to 8 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RecordBlock
{
    /// <summary>The bytes of a block, header included; also its alignment.</summary>
    public const int Size = 8 << 20;

    /// <summary>Where the first record starts: the header, rounded up to a cache line.</summary>
    public const int HeaderSize = 64;

    /// <summary>Added to <see cref="Live"/> while records are still carved from the block, so that records unlinked
    /// meanwhile (a key loaded twice) never bring it to zero before every record is counted.</summary>
    public const int OpenBias = 1 << 30;

    /// <summary>Records carved and not unlinked yet (plus <see cref="OpenBias"/> while open); changed atomically.</summary>
    public int Live;

    /// <summary>Records carved; written only while the block is open.</summary>
    public int Carved;

    /// <summary>1 once the block was queued to have its last records copied out; changed atomically.</summary>
    public int CompactionQueued;

    /// <summary>Compactions reading the block now; guarded by <see cref="RecordBlocks"/>' lock.</summary>
    public int Pins;

    /// <summary>1 when its table was cleared while a compaction read it: freed when that ends. Guarded by the lock.</summary>
    public int Cleared;

    /// <summary>Bytes used, header included: the next record starts here.</summary>
    public long Used;

    /// <summary>The block a carved record lies in.</summary>
    public static RecordBlock* Of(NativeRecord* record) => (RecordBlock*)((nint)record & ~(nint)(Size - 1));

    /// <summary>The first record of the block.</summary>
    public static NativeRecord* First(RecordBlock* block) => (NativeRecord*)((byte*)block + HeaderSize);

    /// <summary>Where the record after this one starts (or <see cref="Used"/>, after the last).</summary>
    public static NativeRecord* After(NativeRecord* record) =>
        (NativeRecord*)((byte*)record + Rounded(NativeRecord.Size(record->KeyLength, record->ValueLength)));

    /// <summary>The bytes a record takes in a block.</summary>
    public static long Rounded(long size) => (size + 7) & ~7L;

    /// <summary>A new, open block with every page written once, so that carving records from it never waits for
    /// the kernel to fault memory in.</summary>
    public static RecordBlock* Allocate()
    {
        var block = (RecordBlock*)NativeMemory.AlignedAlloc(Size, Size);
        NativePages.FaultIn((byte*)block, Size);

        block->Live = OpenBias;
        block->Carved = 0;
        block->CompactionQueued = 0;
        block->Pins = 0;
        block->Cleared = 0;
        block->Used = HeaderSize;
        return block;
    }

    public static void Free(RecordBlock* block) => NativeMemory.AlignedFree(block);
}
