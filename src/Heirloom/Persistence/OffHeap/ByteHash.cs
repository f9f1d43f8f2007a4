using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// A fast 32-bit hash of encoded keys: eight bytes at a time, multiplied and rotated, then a full avalanche (the
/// finaliser of MurmurHash3's 64-bit variant), so that every input bit reaches every output bit. The stripe (the low
/// bits), the bucket and the traversal order (the bits reversed) depend on it being well mixed.
/// </summary>
internal static class ByteHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var hash = Prime1 ^ ((ulong)data.Length * Prime2);
        while (data.Length >= 8)
        {
            hash = Round(hash, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        if (data.Length > 0)
        {
            // The tail, zero-padded; the length folded in above keeps "a" and "a\0" apart.
            // In a local rather than a stack buffer: a method with stackalloc is neither inlined nor tiered, and hashing
            // a key is on every lookup's and every load's path.
            ulong tail = 0;
            data.CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref tail)));
            hash = Round(hash, BitConverter.IsLittleEndian ? tail : BinaryPrimitives.ReverseEndianness(tail));
        }

        return (uint)Avalanche(hash);
    }

    private static ulong Round(ulong hash, ulong lane) => BitOperations.RotateLeft(hash ^ (lane * Prime2), 31) * Prime1;

    private static ulong Avalanche(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        return hash;
    }
}
