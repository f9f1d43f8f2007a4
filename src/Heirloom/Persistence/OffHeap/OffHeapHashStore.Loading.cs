using System.Runtime.Intrinsics.X86;

namespace Heirloom.Persistence;

/// <summary>Loading a snapshot's objects as they are: a snapshot holds each object as its codecs wrote it, which is
/// exactly what a record holds, so nothing is decoded or encoded again.</summary>
/// <remarks>A loaded record is linked a few records after it is made, with its bucket's slot prefetched when it is
/// made: the slots of consecutive objects lie far apart in a big bucket array, and linking each at once waits for one
/// cache miss after another, where prefetching a window of them lets the misses overlap. Records are linked in the
/// order they were loaded, so a key loaded twice ends with its later value, as inserting would leave it.</remarks>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue> : IEncodedObjectLoader
{
    // How many records wait to be linked: enough misses in flight to cover the memory's latency, few enough that
    // their slots are still in the cache when they are linked.
    private const int LoadWindow = 16;

    private LoadedRecord[]? _loading;
    private int _loadingCount;
    private int _loadingNext;

    public void LoadEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var hash = ByteHash.Compute(key);
        var record = NativeRecord.Create(Reverse(hash), key, value);
        if (Sse.IsSupported)
        {
            var buckets = _memory.Current;
            Sse.Prefetch0(&buckets.Heads[hash & buckets.Mask]);
        }

        var window = _loading ??= new LoadedRecord[LoadWindow];
        if (_loadingCount == LoadWindow)
        {
            var oldest = window[_loadingNext];
            window[_loadingNext] = new LoadedRecord(record, hash);
            _loadingNext = (_loadingNext + 1) % LoadWindow;
            Link(oldest);
            return;
        }

        window[(_loadingNext + _loadingCount++) % LoadWindow] = new LoadedRecord(record, hash);
    }

    public void EndLoading()
    {
        for (; _loadingCount > 0; _loadingCount--)
        {
            Link(_loading![_loadingNext]);
            _loadingNext = (_loadingNext + 1) % LoadWindow;
        }

        _loading = null;
        _loadingNext = 0;
    }

    public void Reserve(long count)
    {
        // Doubling an empty table only allocates its bucket array; each step is as cheap as the array it makes.
        while (_memory.Current is var buckets && buckets.Length < count && buckets.Bits < 30)
        {
            Grow(buckets);
        }
    }

    private void Link(LoadedRecord loaded) => Link((NativeRecord*)loaded.Record, loaded.Hash, replace: true);

    private readonly record struct LoadedRecord(nint Record, uint Hash)
    {
        public LoadedRecord(NativeRecord* record, uint hash)
            : this((nint)record, hash)
        {
        }
    }
}
