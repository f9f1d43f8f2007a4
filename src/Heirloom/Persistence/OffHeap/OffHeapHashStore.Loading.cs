namespace Heirloom.Persistence;

/// <summary>Loading a snapshot's objects as they are: a snapshot holds each object as its codecs wrote it, which is
/// exactly what a record holds, so nothing is decoded or encoded again.</summary>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue> : IEncodedObjectLoader
{
    public void LoadEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        StoreEncoded(key, value, ByteHash.Compute(key), replace: true);

    public void Reserve(long count)
    {
        // Doubling an empty table only allocates its bucket array; each step is as cheap as the array it makes.
        while (_memory.Current is var buckets && buckets.Length < count && buckets.Bits < 30)
        {
            Grow(buckets);
        }
    }
}
