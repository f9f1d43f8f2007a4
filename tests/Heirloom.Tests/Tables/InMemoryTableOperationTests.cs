using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations on in-memory tables.</summary>
public sealed class InMemoryTableOperationTests : TableOperationTests
{
    /// <inheritdoc />
    protected override Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options) =>
        Table.New<TKey, TValue>(node, options);
}
