using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables;

/// <summary>The ordered set against SortedDictionary as a model, over key spaces large enough to split and empty many
/// tree nodes, and under concurrent writers.</summary>
public sealed class OrderedSetModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(200)]
    [InlineData(5_000)]
    [InlineData(50_000)]
    public async Task Random_operations_match_a_sorted_dictionary(int keySpace)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var node = new Node();
        var table = Table.New<int, int>(node, new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public });
        var model = new SortedDictionary<int, int>();
        for (var step = 0; step < 60_000; step++)
        {
            var key = random.Next(keySpace);
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
                    var expectedNext = model.Keys.Where(k => k > key).Cast<int?>().FirstOrDefault();
                    Assert.Equal(expectedNext, table.TryNext(key, out var next) ? next : (int?)null);
                    break;
                case 8:
                    var expectedPrevious = model.Keys.Where(k => k < key).Cast<int?>().LastOrDefault();
                    Assert.Equal(expectedPrevious, table.TryPrevious(key, out var previous) ? previous : (int?)null);
                    break;
                default:
                    if (random.Next(200) == 0)
                    {
                        Assert.Equal(model.Select(p => (p.Key, p.Value)), table.ToList().Select(p => (p.Key, p.Value)));
                        Assert.Equal(model.Keys.Reverse(), table.FoldReverse(new List<int>(), (acc, k, _) => { acc.Add(k); return acc; }));
                        var high = key + random.Next(keySpace / 10 + 1);
                        Assert.Equal(model.Keys.Where(k => k >= key && k <= high), table.Range(key, high).Select(p => p.Key));
                        Assert.Equal(model.Count == 0 ? null : (int?)model.Keys.First(), table.TryFirst(out var first) ? first : null);
                        Assert.Equal(model.Count == 0 ? null : (int?)model.Keys.Last(), table.TryLast(out var last) ? last : null);
                    }

                    break;
            }
        }

        Assert.Equal(model.Count, table.Count);
    }

    [Fact]
    public async Task Readers_always_find_stable_keys_while_writers_split_and_empty_nodes()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = Table.New<int, int>(node, new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public });

        // Multiples of 10 are stable; everything else churns, so leaves and inner nodes split all the time.
        for (var k = 0; k < 100_000; k += 10)
        {
            table.Insert(k, k);
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            while (!stop.IsCancellationRequested)
            {
                var key = random.Next(100_000);
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
            var key = reader.Next(10_000) * 10;
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

    [Fact]
    public async Task A_reader_never_finds_keys_of_a_tree_emptied_by_delete_all_objects()
    {
        await using var node = new Node();
        var table = Table.New<int, int>(node, new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public });
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
}
