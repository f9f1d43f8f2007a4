using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// One object of an off-heap table, in native memory the GC never sees (an allocation of its own, or carved from a
/// <see cref="RecordBlock"/> while a snapshot loaded): this header, then the encoded key, then the encoded value. Only
/// its store reads or frees it, always holding the lock that guards it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeRecord
{
    /// <summary>The next record in a hash chain (unused by the ordered store).</summary>
    public NativeRecord* Next;

    /// <summary>The key's hash with its bits reversed: the key's place in a hash table's traversal order.</summary>
    public uint Order;

    public int KeyLength;

    public int ValueLength;

    /// <summary>Where the record's memory comes from: <see cref="OwnAllocation"/>, or carved from a
    /// <see cref="RecordBlock"/> (<see cref="InBlock"/> while linked in its table, <see cref="UnlinkedInBlock"/> after).
    /// Also keeps the key 8-byte aligned after the header.</summary>
    public int Carving;

    /// <summary>A record of its own allocation, freed alone.</summary>
    public const int OwnAllocation = 0;

    /// <summary>A record carved from a block and linked in its table (or about to be).</summary>
    public const int InBlock = 1;

    /// <summary>A record carved from a block and unlinked: its memory goes with its block's.</summary>
    public const int UnlinkedInBlock = 2;

    /// <summary>Copies a key and a value into a new record; the caller frees it with <see cref="Free"/>.</summary>
    public static NativeRecord* Create(uint order, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        Fill((NativeRecord*)NativeMemory.Alloc((nuint)Size(key.Length, value.Length)), order, key, value, OwnAllocation);

    /// <summary>The bytes a record of these lengths takes, header included.</summary>
    public static long Size(int keyLength, int valueLength) => sizeof(NativeRecord) + (long)keyLength + valueLength;

    /// <summary>Writes a record's header, key and value into memory of at least <see cref="Size"/> bytes.</summary>
    public static NativeRecord* Fill(NativeRecord* record, uint order, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int carving)
    {
        record->Next = null;
        record->Order = order;
        record->KeyLength = key.Length;
        record->ValueLength = value.Length;
        record->Carving = carving;
        key.CopyTo(new Span<byte>(record + 1, key.Length));
        value.CopyTo(new Span<byte>((byte*)(record + 1) + key.Length, value.Length));
        return record;
    }

    /// <summary>Frees a record of its own allocation; a carved one goes with its block (<see cref="RecordBlocks"/>).</summary>
    public static void Free(NativeRecord* record)
    {
        if (record->Carving == OwnAllocation)
        {
            NativeMemory.Free(record);
        }
    }

    public static ReadOnlySpan<byte> KeyOf(NativeRecord* record) => new(record + 1, record->KeyLength);

    public static ReadOnlySpan<byte> ValueOf(NativeRecord* record) => new((byte*)(record + 1) + record->KeyLength, record->ValueLength);

    /// <summary>Overwrites the value in place; only when the new one has the same length.</summary>
    public static void SetValue(NativeRecord* record, ReadOnlySpan<byte> value)
    {
        System.Diagnostics.Debug.Assert(value.Length == record->ValueLength, "A value is overwritten in place only by one of its length.");
        value.CopyTo(new Span<byte>((byte*)(record + 1) + record->KeyLength, record->ValueLength));
    }

    /// <summary>The memory a record takes, as the C allocator counts it: the size asked for plus an 8-byte chunk
    /// header, rounded up to 16 bytes (glibc's malloc; other allocators are close to it). Nothing for a carved record:
    /// its block's memory is counted whole, while the table holds the block.</summary>
    public static long Footprint(NativeRecord* record) =>
        record->Carving == OwnAllocation ? Footprint(record->KeyLength, record->ValueLength) : 0;

    public static long Footprint(int keyLength, int valueLength) => (sizeof(NativeRecord) + keyLength + valueLength + 8 + 15) & ~15L;

    /// <summary>Orders a record against a key as hash tables traverse them: by reversed hash, then by key bytes.</summary>
    public static int Compare(NativeRecord* record, uint order, ReadOnlySpan<byte> key)
    {
        var byOrder = record->Order.CompareTo(order);
        return byOrder != 0 ? byOrder : KeyOf(record).SequenceCompareTo(key);
    }

    /// <summary>Whether two records hold the same key (their encoded bytes are equal).</summary>
    public static bool SameKey(NativeRecord* a, NativeRecord* b) =>
        a->Order == b->Order && KeyOf(a).SequenceEqual(KeyOf(b));
}
