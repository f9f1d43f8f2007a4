using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables;

/// <summary>The ordered set against SortedDictionary as a model, over key spaces large enough to split and empty many
/// tree nodes, and under concurrent writers; on the heap and off it.</summary>
public sealed class OrderedSetModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(200, TableStorage.Heap)]
    [InlineData(5_000, TableStorage.Heap)]
    [InlineData(50_000, TableStorage.Heap)]
    [InlineData(200, TableStorage.OffHeap)]
    [InlineData(5_000, TableStorage.OffHeap)]
    [InlineData(50_000, TableStorage.OffHeap)]
    public Task Random_operations_match_a_sorted_dictionary(int keySpace, TableStorage storage) =>
        MatchesSortedDictionary(storage, random => random.Next(keySpace), (random, key) => key + random.Next(keySpace / 10 + 1));

    /// <summary>Long keys take a vectorised search; these span the whole range, extremes included.</summary>
    [Theory]
    [InlineData(200, TableStorage.Heap)]
    [InlineData(50_000, TableStorage.Heap)]
    [InlineData(200, TableStorage.OffHeap)]
    [InlineData(50_000, TableStorage.OffHeap)]
    public Task Random_operations_on_long_keys_across_the_whole_range_match_a_sorted_dictionary(int keySpace, TableStorage storage)
    {
        var keys = Enumerable.Range(0, keySpace).Select(i => (long)(((ulong)i * 0x9E3779B97F4A7C15UL) ^ (ulong)keySpace)).Concat([long.MinValue, long.MaxValue, 0, -1, 1]).ToArray();
        return MatchesSortedDictionary(storage, random => keys[random.Next(keys.Length)], (random, key) => Math.Max(key, keys[random.Next(keys.Length)]));
    }

    private async Task MatchesSortedDictionary<TKey>(TableStorage storage, Func<Random, TKey> nextKey, Func<Random, TKey, TKey> highFrom)
        where TKey : struct, IComparable<TKey>
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var node = new Node();
        var table = NewTable<TKey, int>(node, storage);
        var model = new SortedDictionary<TKey, int>();
        for (var step = 0; step < 60_000; step++)
        {
            var key = nextKey(random);
            switch (random.Next(10))
            {
                case < 4:
                    table.Insert(key, step);
                    model[key] = step;
                    break;
                case 4 or 5:
                    Assert.Equal(model.Remove(key), table.Delete(key));
                    break;
                case 6:
                    Assert.Equal(model.TryGetValue(key, out var v) ? [v] : Array.Empty<int>(), table.Lookup(key));
                    break;
                case 7:
                    var expectedNext = model.Keys.Where(k => k.CompareTo(key) > 0).Cast<TKey?>().FirstOrDefault();
                    Assert.Equal<TKey?>(expectedNext, table.TryNext(key, out var next) ? next : null);
                    break;
                case 8:
                    var expectedPrevious = model.Keys.Where(k => k.CompareTo(key) < 0).Cast<TKey?>().LastOrDefault();
                    Assert.Equal<TKey?>(expectedPrevious, table.TryPrevious(key, out var previous) ? previous : null);
                    break;
                default:
                    if (random.Next(200) == 0)
                    {
                        Assert.Equal(model.Select(p => (p.Key, p.Value)), table.ToList().Select(p => (p.Key, p.Value)));
                        Assert.Equal(model.Keys.Reverse(), table.FoldReverse(new List<TKey>(), (acc, k, _) => { acc.Add(k); return acc; }));
                        var high = highFrom(random, key);
                        Assert.Equal(model.Keys.Where(k => k.CompareTo(key) >= 0 && k.CompareTo(high) <= 0), table.Range(key, high).Select(p => p.Key));
                        Assert.Equal<TKey?>(model.Count == 0 ? null : model.Keys.First(), table.TryFirst(out var first) ? first : null);
                        Assert.Equal<TKey?>(model.Count == 0 ? null : model.Keys.Last(), table.TryLast(out var last) ? last : null);
                    }

                    break;
            }
        }

        Assert.Equal(model.Count, table.Count);
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task Backward_walks_and_previous_keys_miss_nothing_while_writers_split_leaves_beside_them(TableStorage storage)
    {
        // Few stable keys over a narrow range, so that nearly every backward step meets a leaf splitting beside it.
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = NewTable<long, long>(node, storage);
        for (long k = 0; k < 20_000; k += 100)
        {
            table.Insert(k, k);
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            while (!stop.IsCancellationRequested)
            {
                var key = random.Next(20_000);
                if (key % 100 == 0)
                {
                    continue;
                }

                if (random.Next(4) == 0)
                {
                    table.Delete(key);
                }
                else
                {
                    table.Insert(key, key);
                }
            }
        })).ToArray();

        var reader = new Random(seed + 7);
        for (var i = 0; i < 2_000; i++)
        {
            Assert.Equal(200, table.FoldReverse(0, (count, k, _) => k % 100 == 0 ? count + 1 : count));
            // Stepping back from a stable key meets the stable key before it, whatever churns between them.
            var stable = reader.Next(1, 200) * 100L;
            var key = stable;
            do
            {
                Assert.True(table.TryPrevious(key, out key), $"no key before {key}");
            }
            while (key % 100 != 0);
            Assert.Equal(stable - 100, key);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task Readers_always_find_stable_keys_while_writers_split_and_empty_nodes(TableStorage storage)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = NewTable<long, long>(node, storage);

        // Multiples of 10 are stable; everything else churns, so leaves and inner nodes split all the time. Long keys,
        // negative ones included, take the vectorised search.
        for (long k = -50_000; k < 50_000; k += 10)
        {
            table.Insert(k, k);
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            while (!stop.IsCancellationRequested)
            {
                var key = random.Next(100_000) - 50_000L;
                if (key % 10 == 0)
                {
                    continue;
                }

                if (random.Next(3) == 0)
                {
                    table.Delete(key);
                }
                else
                {
                    table.Insert(key, key);
                }
            }
        })).ToArray();

        var reader = new Random(seed + 7);
        for (var i = 0; i < 300_000; i++)
        {
            var key = (reader.Next(10_000) * 10L) - 50_000;
            Assert.True(table.TryGetValue(key, out var value) && value == key, $"stable key {key} not found");
            if (i % 50_000 == 0)
            {
                var keys = table.ToList().Select(p => p.Key).Where(k => k % 10 == 0).ToList();
                Assert.Equal(10_000, keys.Count);
                var backwards = table.FoldReverse(0, (count, k, _) => k % 10 == 0 ? count + 1 : count);
                Assert.Equal(10_000, backwards);
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task A_reader_never_finds_keys_of_a_tree_emptied_by_delete_all_objects(TableStorage storage)
    {
        await using var node = new Node();
        var table = NewTable<int, int>(node, storage);
        for (var k = 0; k < 1_000; k++)
        {
            table.Insert(k, k);
        }

        Assert.True(table.ContainsKey(500)); // this thread now remembers the leaf of 500
        table.DeleteAllObjects();
        Assert.False(table.ContainsKey(500));
        table.Insert(500, -1);
        Assert.Equal([-1], table.Lookup(500));
    }

    [Fact]
    public async Task A_custom_key_order_is_used_for_ordered_sets()
    {
        await using var node = new Node();
        var table = Table.New<string, int>(node, new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public }, keyOrder: StringComparer.OrdinalIgnoreCase);
        foreach (var word in new[] { "pear", "Apple", "fig", "apple" })
        {
            table.Insert(word, word.Length);
        }

        Assert.Equal(["apple", "fig", "pear"], table.ToList().Select(p => p.Key));
        Assert.True(table.ContainsKey("APPLE"));
    }

    private static Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableStorage storage)
        where TKey : notnull
    {
        var options = new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public };
        return storage == TableStorage.OffHeap ? OffHeapTable.New<TKey, TValue>(node, options) : Table.New<TKey, TValue>(node, options);
    }
}
