using Heirloom.Persistence;

namespace Heirloom.Tests.Persistence;

/// <summary>The off-heap tables' key hash, against its definition written out byte by byte: eight-byte little-endian
/// lanes, the last one zero-padded, each mixed in, then the avalanche. Every length up to a few lanes is checked, so a
/// change in how the tail is read (or on a machine of the other byte order) shows here rather than as keys in the wrong
/// buckets.</summary>
public sealed class ByteHashTests
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

    [Fact]
    public void Every_length_hashes_as_its_definition_says()
    {
        var random = new Random(11);
        for (var length = 0; length <= 40; length++)
        {
            for (var sample = 0; sample < 20; sample++)
            {
                var data = new byte[length];
                random.NextBytes(data);
                Assert.Equal(Defined(data), ByteHash.Compute(data));
            }
        }
    }

    [Fact]
    public void A_trailing_zero_byte_changes_the_hash()
    {
        Assert.NotEqual(ByteHash.Compute([1, 2, 3]), ByteHash.Compute([1, 2, 3, 0]));
        Assert.NotEqual(ByteHash.Compute([]), ByteHash.Compute([0]));
    }

    private static uint Defined(byte[] data)
    {
        var hash = Prime1 ^ unchecked((ulong)data.Length * Prime2);
        for (var start = 0; start < data.Length; start += 8)
        {
            ulong lane = 0;
            for (var i = 0; i < 8 && start + i < data.Length; i++)
            {
                lane |= (ulong)data[start + i] << (8 * i);
            }

            hash = ulong.RotateLeft(hash ^ unchecked(lane * Prime2), 31) * Prime1;
        }

        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        return (uint)hash;
    }
}
