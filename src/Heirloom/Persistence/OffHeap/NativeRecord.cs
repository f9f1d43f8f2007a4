using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// One object of an off-heap table, in one native allocation the GC never sees: this header, then the encoded key,
/// then the encoded value. Only its store reads or frees it, always holding the lock that guards it.
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

    // Keeps the key 8-byte aligned after the header.
    private readonly int _padding;

    /// <summary>Copies a key and a value into a new record; the caller frees it with <see cref="Free"/>.</summary>
    public static NativeRecord* Create(uint order, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var record = (NativeRecord*)NativeMemory.Alloc((nuint)(sizeof(NativeRecord) + key.Length + value.Length));
        record->Next = null;
        record->Order = order;
        record->KeyLength = key.Length;
        record->ValueLength = value.Length;
        key.CopyTo(new Span<byte>(record + 1, key.Length));
        value.CopyTo(new Span<byte>((byte*)(record + 1) + key.Length, value.Length));
        return record;
    }

    public static void Free(NativeRecord* record) => NativeMemory.Free(record);

    public static ReadOnlySpan<byte> KeyOf(NativeRecord* record) => new(record + 1, record->KeyLength);

    public static ReadOnlySpan<byte> ValueOf(NativeRecord* record) => new((byte*)(record + 1) + record->KeyLength, record->ValueLength);

    /// <summary>Overwrites the value in place; only when the new one has the same length.</summary>
    public static void SetValue(NativeRecord* record, ReadOnlySpan<byte> value)
    {
        System.Diagnostics.Debug.Assert(value.Length == record->ValueLength, "A value is overwritten in place only by one of its length.");
        value.CopyTo(new Span<byte>((byte*)(record + 1) + record->KeyLength, record->ValueLength));
    }

    /// <summary>The memory a record takes, as the C allocator counts it: the size asked for plus an 8-byte chunk
    /// header, rounded up to 16 bytes (glibc's malloc; other allocators are close to it).</summary>
    public static long Footprint(NativeRecord* record) => Footprint(record->KeyLength, record->ValueLength);

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
