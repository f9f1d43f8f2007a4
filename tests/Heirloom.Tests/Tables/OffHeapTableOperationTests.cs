using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations on off-heap tables: storing objects as bytes in native memory must change none of them.</summary>
public sealed class OffHeapTableOperationTests : TableOperationTests
{
    /// <inheritdoc />
    protected override Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options) =>
        OffHeapTable.New(node, options, LongPairCodec.Or<TKey>(), LongPairCodec.Or<TValue>());
}
