using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations on durable tables: the journal layer must change none of them.</summary>
public sealed class DurableTableOperationTests : TableOperationTests, IDisposable
{
    private readonly TemporaryDirectory _temporary = new("operations");
    private int _tables;

    /// <inheritdoc />
    protected override Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options)
    {
        var durability = new DurabilityOptions(Path.Combine(_temporary.Path, $"table-{_tables++}")) { Fsync = FsyncPolicy.None };
        return DurableTable.Open(node, options, durability, LongPairCodec.Or<TKey>(), LongPairCodec.Or<TValue>());
    }

    public void Dispose() => _temporary.Dispose();
}
