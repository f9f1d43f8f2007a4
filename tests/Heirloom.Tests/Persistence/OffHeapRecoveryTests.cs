using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

/// <summary>An off-heap durable table takes its snapshot's objects as the bytes they are on disk; what it recovers
/// must be what the in-heap engine recovers from the same directory, for every hash table type.</summary>
public sealed class OffHeapRecoveryTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("off-heap-recovery");

    public void Dispose() => _temporary.Dispose();

    // Loading links the records on a second thread once there are more than a few thousand objects, and on the loading
    // thread below that, and carves the records of a snapshot of 65,536 objects or more from blocks: each is run.
    [Theory]
    [InlineData(TableType.Set, 2_000, 20_000)]
    [InlineData(TableType.Set, 30_000, 20_000)]
    [InlineData(TableType.Set, 1_000_000, 120_000)]
    [InlineData(TableType.Bag, 2_000, 20_000)]
    [InlineData(TableType.Bag, 30_000, 20_000)]
    [InlineData(TableType.Bag, 60_000, 120_000)]
    [InlineData(TableType.DuplicateBag, 2_000, 20_000)]
    [InlineData(TableType.DuplicateBag, 30_000, 100_000)]
    public async Task A_snapshot_loaded_as_bytes_recovers_what_decoding_it_recovers(TableType type, int keys, int inserts)
    {
        await using var node = new Node();
        var offHeap = new DurabilityOptions(Path.Combine(_temporary.Path, $"{type}-{keys}-{inserts}")) { Fsync = FsyncPolicy.None, Storage = TableStorage.OffHeap };
        var options = new TableOptions { Type = type };
        var table = DurableTable.Open<string, string>(node, options, offHeap);
        var random = new Random(7);
        for (var i = 0; i < inserts; i++)
        {
            // With few keys, bags get many values per key, duplicates among them.
            table.Insert($"key-{random.Next(keys)}", $"value-{random.Next(50)}");
        }

        await DurableTable.SnapshotAsync(table);
        table.Insert("after the snapshot", "in the journal");
        var expected = Contents(table);
        table.Delete();

        var fromBytes = DurableTable.Open<string, string>(node, options, offHeap);
        Assert.Equal(expected, Contents(fromBytes));
        fromBytes.Delete();

        var decoded = DurableTable.Open<string, string>(node, options, offHeap with { Storage = TableStorage.Heap });
        Assert.Equal(expected, Contents(decoded));
    }

    /// <summary>Every key with its values in insertion order, keys sorted: the same for any engine holding the same
    /// objects.</summary>
    private static List<(string Key, string Values)> Contents(Table<string, string> table) =>
        [.. table.Select((_, _) => true, (k, _) => k).Distinct().Order(StringComparer.Ordinal).Select(k => (k, string.Join(",", table.Lookup(k))))];
}
