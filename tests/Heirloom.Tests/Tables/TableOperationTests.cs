using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>The table operations, run over every kind of storage a table can have (see the derived classes): each
/// operation must behave the same on an in-memory table and on a durable one of the same type.</summary>
public abstract class TableOperationTests
{
    /// <summary>Creates a table of the kind under test.</summary>
    protected abstract Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options)
        where TKey : notnull;

    private Table<int, string> NewTable(Node node, TableType type, TableAccess access = TableAccess.Public) =>
        NewTable<int, string>(node, new TableOptions { Type = type, Access = access });

    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.OrderedSet)]
    public async Task A_set_replaces_on_equal_key(TableType type)
    {
        await using var node = new Node();
        var table = NewTable(node, type);
        table.Insert(1, "a");
        table.Insert(1, "b");
        Assert.Equal(["b"], table.Lookup(1));
        Assert.True(table.TryGetValue(1, out var value));
        Assert.Equal("b", value);
        Assert.Equal(1, table.Count);
        Assert.False(table.InsertNew(1, "c"));
        Assert.True(table.InsertNew(2, "c"));
        Assert.Equal(["b"], table.Take(1));
        Assert.Empty(table.Take(1));
        Assert.False(table.ContainsKey(1));
        Assert.False(table.DeleteObject(2, "x"));
        Assert.True(table.DeleteObject(2, "c"));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public async Task Bags_keep_insertion_order_and_differ_on_duplicates()
    {
        await using var node = new Node();
        var bag = NewTable(node, TableType.Bag);
        var dup = NewTable(node, TableType.DuplicateBag);
        foreach (var v in new[] { "x", "y", "x" })
        {
            bag.Insert(1, v);
            dup.Insert(1, v);
        }

        Assert.Equal(["x", "y"], bag.Lookup(1));
        Assert.Equal(["x", "y", "x"], dup.Lookup(1));
        Assert.Equal(3, dup.Count);
        Assert.True(dup.DeleteObject(1, "x"));
        Assert.Equal(["y"], dup.Lookup(1));
        Assert.False(bag.InsertNew(1, "z"));
        Assert.Equal(2, bag.SelectDelete((_, v) => v is "x" or "y"));
        Assert.Equal(0, bag.Count);
    }

    [Fact]
    public async Task Insert_new_of_a_list_is_all_or_nothing()
    {
        await using var node = new Node();
        var table = NewTable(node, TableType.Set);
        table.Insert(3, "old");
        Assert.False(table.InsertNew([new(1, "a"), new(2, "b"), new(3, "c")]));
        Assert.Equal(1, table.Count);
        Assert.True(table.InsertNew([new(1, "a"), new(2, "b")]));
        Assert.Equal(3, table.Count);
        Assert.Equal(["old"], table.Lookup(3));
    }

    [Fact]
    public async Task Update_counter_follows_ets_thresholds_defaults_and_errors()
    {
        await using var node = new Node();
        var table = NewTable<string, long>(node, new TableOptions { Access = TableAccess.Public });
        table.Insert("c", 10);
        Assert.Equal(15, table.UpdateCounter("c", 5));
        Assert.Equal(1, table.UpdateCounter("c", new CounterUpdate<long>(10).WithThreshold(20, 1)));
        Assert.Equal(100, table.UpdateCounter("c", new CounterUpdate<long>(-5).WithThreshold(0, 100)));
        Assert.Equal(7, table.UpdateCounter("new", new CounterUpdate<long>(2).WithDefault(5)));
        var missing = Assert.Throws<TableException>(() => table.UpdateCounter("nope", 1));
        Assert.Equal(TableError.BadKey, missing.Error);
        Assert.False(table.ContainsKey("nope"));

        var all = Assert.Throws<TableException>(() => table.UpdateCounters([("c", new CounterUpdate<long>(1)), ("nope", new CounterUpdate<long>(1))]));
        Assert.Equal(TableError.BadKey, all.Error);
        Assert.Equal([100L], table.Lookup("c"));
        Assert.Equal([101L, 8L, 3L], table.UpdateCounters([("c", new CounterUpdate<long>(1)), ("new", new CounterUpdate<long>(1)), ("d", new CounterUpdate<long>(3).WithDefault(0))]));

        var bag = NewTable<string, long>(node, new TableOptions { Type = TableType.Bag, Access = TableAccess.Public });
        Assert.Equal(TableError.TableType, Assert.Throws<TableException>(() => bag.UpdateCounter("c", 1)).Error);
    }

    [Fact]
    public async Task Add_or_update_is_atomic_per_key()
    {
        await using var node = new Node();
        var table = NewTable<int, int>(node, new TableOptions { Access = TableAccess.Public });
        Parallel.For(0, 10_000, _ => table.AddOrUpdate(1, 1, (_, v) => v + 1));
        Assert.Equal([10_000], table.Lookup(1));
        Assert.True(table.TryUpdate(1, (_, v) => v * 2, out var doubled));
        Assert.Equal(20_000, doubled);
        Assert.False(table.TryUpdate(2, (_, v) => v, out _));
    }

    [Fact]
    public async Task Ordered_set_traverses_in_key_order_and_next_accepts_any_key()
    {
        await using var node = new Node();
        var table = NewTable(node, TableType.OrderedSet);
        foreach (var k in new[] { 5, 1, 9, 3, 7 })
        {
            table.Insert(k, k.ToString());
        }

        Assert.True(table.TryFirst(out var first));
        Assert.Equal(1, first);
        Assert.True(table.TryLast(out var last));
        Assert.Equal(9, last);
        Assert.True(table.TryNext(4, out var next));
        Assert.Equal(5, next);
        Assert.True(table.TryPrevious(4, out var previous));
        Assert.Equal(3, previous);
        Assert.False(table.TryNext(9, out _));
        Assert.False(table.TryPrevious(1, out _));
        Assert.Equal([1, 3, 5, 7, 9], table.ToList().Select(p => p.Key));
        Assert.Equal([9, 7, 5, 3, 1], table.FoldReverse(new List<int>(), (acc, k, _) => { acc.Add(k); return acc; }));
        Assert.Equal([3, 5, 7], table.Range(2, 7).Select(p => p.Key));
        Assert.Equal(["9", "7"], table.SelectReverse((k, _) => k > 5, (_, v) => v));
    }

    [Fact]
    public async Task Hash_next_of_a_missing_key_fails_unless_the_table_is_fixed()
    {
        await using var node = new Node();
        var table = NewTable(node, TableType.Set);
        for (var i = 0; i < 100; i++)
        {
            table.Insert(i, "v");
        }

        Assert.Equal(TableError.BadKey, Assert.Throws<TableException>(() => table.TryNext(1000, out _)).Error);

        // safe_fixtable: delete every key just visited, keep walking from it; each key is seen once.
        var seen = new List<int>();
        using (table.Fix())
        {
            Assert.True(table.GetInfo()!.Fixed);
            for (var more = table.TryFirst(out var key); more; more = table.TryNext(key, out key))
            {
                seen.Add(key);
                table.Delete(key);
                table.Insert(key + 1000, "new");
            }
        }

        Assert.Equal(100, seen.Count(k => k < 1000));
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.False(table.GetInfo()!.Fixed);
    }

    [Fact]
    public async Task Select_with_a_limit_returns_chunks_and_a_continuation()
    {
        await using var node = new Node();
        var table = NewTable(node, TableType.OrderedSet);
        for (var i = 1; i <= 10; i++)
        {
            table.Insert(i, $"v{i}");
        }

        var page = table.Select((k, _) => k % 2 == 0, (k, _) => k, 2);
        var all = new List<int>(page.Items);
        while (page.Continuation is { } more)
        {
            page = more.Next();
            all.AddRange(page.Items);
        }

        Assert.Equal([2, 4, 6, 8, 10], all);
        Assert.Equal([10, 8], table.SelectReverse((k, _) => k % 2 == 0, (k, _) => k, 2).Items);
        Assert.Equal(TableError.BadArgument, Assert.Throws<TableException>(() => table.Select((_, _) => true, (k, _) => k, 0)).Error);
        Assert.Equal(5, table.SelectCount((k, _) => k > 5));
        Assert.Equal(3, table.SelectReplace((k, _) => k <= 3, (_, v) => v + "!"));
        Assert.Equal(["v1!"], table.Lookup(1));
        Assert.Equal(4, table.SelectDelete((k, _) => k > 6));
        Assert.Equal(6, table.Count);
        Assert.Equal(21, table.Fold(0, (acc, k, _) => acc + k));
    }

    [Fact]
    public async Task Delete_all_objects_and_info()
    {
        await using var node = new Node();
        var table = NewTable<int, string>(node, new TableOptions { Name = "info", Type = TableType.Bag });
        table.Insert([new(1, "a"), new(1, "b"), new(2, "c")]);
        var info = table.GetInfo()!;
        Assert.Equal(("info", TableType.Bag, TableAccess.Protected, 3L), (info.Name, info.Type, info.Access, info.Size));
        Assert.True(info.Memory > 0);
        table.DeleteAllObjects();
        Assert.Equal(0, table.Count);
        table.Delete();
        Assert.Null(table.GetInfo());
        Assert.Equal(TableError.NoSuchTable, Assert.Throws<TableException>(() => table.Lookup(1)).Error);
        Assert.Equal(TableError.NoSuchTable, Assert.Throws<TableException>(() => table.TryGetValue(1, out _)).Error);
        Assert.Null(node.Tables.WhereIs("info"));
    }

    [Fact]
    public async Task Values_wider_than_a_word_are_never_torn()
    {
        await using var node = new Node();
        foreach (var type in new[] { TableType.Set, TableType.OrderedSet })
        {
            var table = NewTable<int, (long A, long B)>(node, new TableOptions { Type = type, Access = TableAccess.Public });
            table.Insert(1, (0, 0));
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(() =>
            {
                for (long i = 1; !stop.IsCancellationRequested; i++)
                {
                    table.Insert(1, (i, i));
                }
            });
            for (var i = 0; i < 200_000; i++)
            {
                Assert.True(table.TryGetValue(1, out var pair));
                Assert.Equal(pair.A, pair.B);
            }

            await stop.CancelAsync();
            await writer;
        }
    }
}
