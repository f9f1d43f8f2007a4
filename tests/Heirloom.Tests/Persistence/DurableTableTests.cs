using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

public sealed class DurableTableTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("durable");

    public void Dispose() => _temporary.Dispose();

    private DurabilityOptions Options(FsyncPolicy policy = FsyncPolicy.Always) => new(_temporary.Path) { Fsync = policy };

    private string JournalPath => Assert.Single(Directory.GetFiles(_temporary.Path, "journal-*.log"));

    [Fact]
    public async Task Every_ordered_set_operation_works_on_a_durable_ordered_set_before_and_after_reopening()
    {
        var options = new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public };
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, long>(node, options, Options(FsyncPolicy.None));
            foreach (var k in new long[] { 50, 10, 90, 30, 70 })
            {
                table.Insert(k, k * 2);
            }

            AssertOrderedOperations(table);
        }

        await using (var node = new Node())
        {
            AssertOrderedOperations(DurableTable.Open<long, long>(node, options, Options()));
        }

        static void AssertOrderedOperations(Table<long, long> table)
        {
            Assert.Equal([30L, 50L, 70L], table.Range(20, 70).Select(p => p.Key));
            Assert.Equal([10L, 30L, 50L, 70L, 90L], table.ToList().Select(p => p.Key));
            Assert.True(table.TryFirst(out var first) && first == 10);
            Assert.True(table.TryLast(out var last) && last == 90);
            Assert.True(table.TryNext(40, out var next) && next == 50);
            Assert.True(table.TryPrevious(40, out var previous) && previous == 30);
            Assert.Equal([180L, 140L], table.SelectReverse((k, _) => k > 60, (_, v) => v));
            Assert.Equal([90L, 70L, 50L, 30L, 10L], table.FoldReverse(new List<long>(), (acc, k, _) => { acc.Add(k); return acc; }));
            var page = table.Select((_, _) => true, (k, _) => k, 2);
            Assert.Equal([10L, 30L], page.Items);
            Assert.Equal([50L, 70L], page.Continuation!.Next().Items);
        }
    }

    [Theory]
    [InlineData(TableType.Set, FsyncPolicy.Always)]
    [InlineData(TableType.OrderedSet, FsyncPolicy.EverySecond)]
    [InlineData(TableType.Bag, FsyncPolicy.None)]
    [InlineData(TableType.DuplicateBag, FsyncPolicy.Always)]
    public async Task Every_kind_of_write_survives_closing_and_reopening(TableType type, FsyncPolicy policy)
    {
        await using var node = new Node();
        var options = new TableOptions { Type = type, Name = "durable", Access = TableAccess.Public };
        var table = DurableTable.Open<long, long>(node, options, Options(policy));
        for (var k = 0; k < 50; k++)
        {
            table.Insert(k % 20, k);
        }

        table.Insert([new(100, 1), new(101, 2), new(100, 3)]);
        table.Delete(3);
        table.DeleteObject(4, 4);
        table.Take(5);
        table.SelectDelete((k, _) => k == 6);
        if (type is TableType.Set or TableType.OrderedSet)
        {
            table.UpdateCounter(7, 1000L);
            table.SelectReplace((k, _) => k == 8, (_, v) => v * 10);
        }

        var expected = table.ToList();
        table.Delete(); // closes the journal; the files stay

        var reopened = DurableTable.Open<long, long>(node, options, Options(policy));
        Assert.Equal(Sorted(expected, type), Sorted(reopened.ToList(), type));

        reopened.DeleteAllObjects();
        reopened.Insert(1, 1);
        reopened.Delete();
        var again = DurableTable.Open<long, long>(node, options, Options(policy));
        Assert.Equal([new KeyValuePair<long, long>(1, 1)], again.ToList());
        again.Delete();
    }

    [Fact]
    public async Task A_torn_last_record_is_truncated_and_everything_before_it_recovered()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, string>(node, new TableOptions(), Options());
        for (var k = 0; k < 10; k++)
        {
            table.Insert(k, $"value {k}");
        }

        table.Delete();
        var full = await File.ReadAllBytesAsync(JournalPath);
        var withoutLast = await RecordBoundaryBeforeLast(node);
        for (var cut = withoutLast + 1; cut < full.Length; cut++)
        {
            await File.WriteAllBytesAsync(JournalPath, full[..(int)cut]);
            var recovered = DurableTable.Open<long, string>(node, new TableOptions(), Options());
            Assert.Equal(9, recovered.Count);
            Assert.False(recovered.ContainsKey(9));
            recovered.Delete();
            Assert.Equal(withoutLast, new FileInfo(JournalPath).Length);
        }
    }

    [Fact]
    public async Task A_bit_flip_anywhere_stops_recovery_with_a_clear_error()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        for (var k = 0; k < 10; k++)
        {
            table.Insert(k, k);
        }

        table.Delete();
        var bytes = await File.ReadAllBytesAsync(JournalPath);
        for (var i = 0; i < bytes.Length; i++)
        {
            var damaged = bytes.ToArray();
            damaged[i] ^= 0x10;
            await File.WriteAllBytesAsync(JournalPath, damaged);
            var error = Assert.Throws<JournalCorruptedException>(() => DurableTable.Open<long, long>(node, new TableOptions(), Options()));
            Assert.Contains("truncate -s", error.Message);
            Assert.Empty(node.Tables.All());
        }
    }

    [Fact]
    public async Task Concurrent_writers_share_fsyncs_and_every_acknowledged_write_is_kept()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, Options());
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                table.Insert((t * 1000) + i, i);
            }
        })));
        table.Delete();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        Assert.Equal(800, reopened.Count);
    }

    [Fact]
    public async Task A_durable_table_outlives_its_owner_with_no_heir()
    {
        await using var node = new Node();
        var owner = node.Spawn(async ctx =>
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "kept" }, Options());
            table.Insert(1, 42);
            await ctx.ReceiveAsync();
        });
        await TestKit.WaitUntil(() => node.Tables.WhereIs("kept") is not null);
        node.Exit(owner, ExitReason.Kill);
        await node.Exited(owner);
        Assert.Null(node.Tables.WhereIs("kept"));
        var recovered = DurableTable.Open<long, long>(node, new TableOptions { Name = "kept" }, Options());
        Assert.Equal([42L], recovered.Lookup(1));
    }

    private static IEnumerable<KeyValuePair<long, long>> Sorted(List<KeyValuePair<long, long>> objects, TableType type) =>
        type == TableType.OrderedSet ? objects : objects.OrderBy(p => p.Key).ThenBy(p => p.Value);

    /// <summary>The journal's length without its last record, found by writing one record less.</summary>
    private async Task<long> RecordBoundaryBeforeLast(Node node)
    {
        var probe = Directory.CreateTempSubdirectory("heirloom-probe-").FullName;
        try
        {
            var table = DurableTable.Open<long, string>(node, new TableOptions(), new DurabilityOptions(probe));
            for (var k = 0; k < 9; k++)
            {
                table.Insert(k, $"value {k}");
            }

            table.Delete();
            return new FileInfo(Assert.Single(Directory.GetFiles(probe, "journal-*.log"))).Length;
        }
        finally
        {
            await Task.Yield();
            Directory.Delete(probe, recursive: true);
        }
    }
}
