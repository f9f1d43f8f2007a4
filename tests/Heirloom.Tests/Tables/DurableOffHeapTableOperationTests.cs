using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations on durable tables kept off the GC heap: the journal over the off-heap engine must
/// change none of them.</summary>
public sealed class DurableOffHeapTableOperationTests : TableOperationTests, IDisposable
{
    private readonly TemporaryDirectory _temporary = new("offheap-operations");
    private int _tables;

    /// <inheritdoc />
    protected override Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options)
    {
        var durability = new DurabilityOptions(Path.Combine(_temporary.Path, $"table-{_tables++}")) { Fsync = FsyncPolicy.None, Storage = TableStorage.OffHeap };
        return DurableTable.Open(node, options, durability, LongPairCodec.Or<TKey>(), LongPairCodec.Or<TValue>());
    }

    public void Dispose() => _temporary.Dispose();
}
