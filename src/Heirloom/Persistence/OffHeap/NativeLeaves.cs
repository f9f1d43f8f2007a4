namespace Heirloom.Persistence;

/// <summary>
/// The leaves of an off-heap ordered set, in key order, and the owner of the native records they point to: the
/// finalizer frees them once the store is unreachable, so that a table nobody deleted (a node dropped without being
/// disposed) does not leak them. A live table is reachable from its node's registry until deleted, and deleting it frees
/// its records at once (<see cref="Reset"/> through the store's Clear).
/// </summary>
/// <typeparam name="TKey">The key type (each leaf keeps its first key decoded, to find leaves without decoding).</typeparam>
internal sealed unsafe class NativeLeaves<TKey>
{
    /// <summary>Records per leaf: a leaf is one array of pointers, so 10 million objects are 80 thousand arrays.</summary>
    public const int Capacity = 128;

    ~NativeLeaves() => FreeAll();

    /// <summary>Never empty: one leaf, possibly empty, when the table is. Only the first leaf may be empty.</summary>
    public List<Leaf> Items { get; } = [new Leaf()];

    /// <summary>Frees every record and starts over with one empty leaf. Caller holds the store's lock.</summary>
    public void Reset()
    {
        FreeAll();
        Items.Clear();
        Items.Add(new Leaf());
    }

    private void FreeAll()
    {
        foreach (var leaf in Items)
        {
            for (var i = 0; i < leaf.Count; i++)
            {
                NativeRecord.Free((NativeRecord*)leaf.Records[i]);
            }

            leaf.Count = 0;
        }
    }

    /// <summary>Up to <see cref="Capacity"/> records in key order, and the first one's key, decoded.</summary>
    public sealed class Leaf
    {
        public readonly nint[] Records = new nint[Capacity];

        public int Count;

        public TKey First = default!;
    }
}
