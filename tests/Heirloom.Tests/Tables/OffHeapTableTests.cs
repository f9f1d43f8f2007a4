using System.Buffers;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables;

/// <summary>What is particular to tables kept off the GC heap: objects are copied in and out through the codecs, equality
/// is that of the encodings, codec failures change nothing, memory is native and freed, and traversals hold across
/// resizes. The operations they share with heap tables are in <see cref="OffHeapTableOperationTests"/>.</summary>
public sealed class OffHeapTableTests(ITestOutputHelper output)
{
    public static TheoryData<TableType> AllTypes => [TableType.Set, TableType.OrderedSet, TableType.Bag, TableType.DuplicateBag];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task An_insert_copies_the_object_in_and_a_lookup_copies_it_out(TableType type)
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, byte[]>(node, new TableOptions { Type = type });
        var inserted = new byte[] { 1, 2, 3 };
        table.Insert(1, inserted);
        inserted[0] = 99;
        var read = table.Lookup(1)[0];
        Assert.Equal([1, 2, 3], read);
        Assert.NotSame(inserted, read);
        read[1] = 99;
        Assert.True(table.TryGetValue(1, out var again));
        Assert.Equal([1, 2, 3], again);
        Assert.NotSame(read, again);
    }

    [Fact]
    public async Task A_mutable_object_through_a_json_codec_is_a_snapshot_of_its_insert()
    {
        await using var node = new Node();
        var table = OffHeapTable.New<string, Account>(node, new TableOptions(), valueCodec: new JsonCodec<Account>());
        var account = new Account { Owner = "ada", Balance = 10 };
        table.Insert("a", account);
        account.Balance = 1_000;
        Assert.Equal(10, table.Lookup("a")[0].Balance);
        Assert.Equal(11, table.AddOrUpdate("a", new Account(), (_, a) => new Account { Owner = a.Owner, Balance = a.Balance + 1 }).Balance);
        Assert.Equal(("ada", 11L), (table.Lookup("a")[0].Owner, table.Lookup("a")[0].Balance));
    }

    [Fact]
    public async Task Equality_is_that_of_the_encoded_bytes_for_keys_bag_duplicates_and_delete_object()
    {
        await using var node = new Node();
        var bag = OffHeapTable.New<byte[], byte[]>(node, new TableOptions { Type = TableType.Bag });
        bag.Insert([7], [1, 2]);
        bag.Insert([7], [1, 2]); // another array with the same bytes: the same key, and a duplicate value
        bag.Insert([7], [3]);
        Assert.Equal(2, bag.Count);
        Assert.Equal([[1, 2], [3]], bag.Lookup([7]));
        Assert.True(bag.DeleteObject([7], [1, 2]));
        Assert.Equal([[3]], bag.Lookup([7]));

        var doubles = OffHeapTable.New<double, int>(node, new TableOptions());
        doubles.Insert(0.0, 1);
        doubles.Insert(-0.0, 2);
        Assert.Equal(2, doubles.Count); // documented: -0.0 and 0.0 encode differently
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task A_codec_that_throws_on_write_changes_nothing_and_says_which_codec_failed(TableType type)
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, string>(node, new TableOptions { Type = type }, valueCodec: new RefusingCodec());
        table.Insert(1, "kept");
        table.Insert(2, "kept");

        var single = Assert.Throws<TableException>(() => table.Insert(1, "refused"));
        Assert.Equal(TableError.BadArgument, single.Error);
        Assert.Contains("'refusing'", single.Message);
        Assert.IsType<InvalidDataException>(single.InnerException);

        // A batch is encoded whole before any of it is stored.
        Assert.Throws<TableException>(() => table.Insert([new(3, "new"), new(1, "changed"), new(4, "refused")]));
        Assert.Throws<TableException>(() => table.InsertNew([new(5, "new"), new(6, "refused")]));
        Assert.Throws<TableException>(() => table.InsertNew(7, "refused"));
        Assert.Throws<TableException>(() => table.DeleteObject(1, "refused"));
        if (type is not TableType.Bag)
        {
            Assert.Throws<TableException>(() => table.SelectReplace((k, _) => k == 2, (_, _) => "refused"));
        }

        if (type is TableType.Set or TableType.OrderedSet)
        {
            Assert.Throws<TableException>(() => table.AddOrUpdate(2, "x", (_, _) => "refused"));
            Assert.Throws<TableException>(() => table.AddOrUpdate(8, "refused", (_, v) => v));
        }

        Assert.Equal([new(1, "kept"), new(2, "kept")], table.ToList().OrderBy(p => p.Key));
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public async Task A_type_without_a_codec_is_refused_with_the_codecs_message()
    {
        await using var node = new Node();
        var expected = Assert.Throws<NotSupportedException>(() => Codecs.For<Point>()).Message;
        Assert.Equal(expected, Assert.Throws<NotSupportedException>(() => OffHeapTable.New<int, Point>(node, new TableOptions())).Message);
        Assert.Equal(expected, Assert.Throws<NotSupportedException>(() => OffHeapTable.New<Point, int>(node, new TableOptions())).Message);
        Assert.Contains("JsonCodec<Point>", expected);
    }

    [Fact]
    public async Task Outside_a_process_the_overload_without_a_node_says_which_to_use()
    {
        await using var node = new Node();
        var error = Assert.Throws<InvalidOperationException>(() => OffHeapTable.New<int, int>(new TableOptions()));
        Assert.Contains("OffHeapTable.New(node, options)", error.Message);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Memory_is_native_reported_honestly_and_freed_on_clear_and_delete(TableType type)
    {
        await using var node = new Node();
        var table = OffHeapTable.New<long, string>(node, new TableOptions { Type = type });
        var empty = OffHeapTable.NativeBytes(table);
        for (long i = 0; i < 10_000; i++)
        {
            table.Insert(i, "a value of some thirty-two bytes");
        }

        var full = OffHeapTable.NativeBytes(table);
        output.WriteLine($"{type}: {full} native bytes for 10,000 objects; info says {table.GetInfo()!.Memory}");

        // Each record: a 24-byte header, 8 key bytes, 32 value bytes, plus the allocator's own.
        Assert.InRange(full - empty, 10_000 * 64L, 10_000 * 120L);
        Assert.InRange(table.GetInfo()!.Memory, full, full + (full / 2));
        table.DeleteAllObjects();
        Assert.InRange(OffHeapTable.NativeBytes(table), 0, 1_024);
        table.Insert(1, "x");
        table.Delete();
        Assert.Equal(0, OffHeapTable.NativeBytes(table));
    }

    [Fact]
    public async Task Durable_tables_over_the_off_heap_engine_recover_their_objects()
    {
        using var directory = new TemporaryDirectory("offheap-durable");
        var durability = new DurabilityOptions(directory.Path) { Fsync = FsyncPolicy.None, Storage = TableStorage.OffHeap };
        await using (var node = new Node())
        {
            var table = DurableTable.Open<string, long>(node, new TableOptions { Type = TableType.OrderedSet }, durability);
            Assert.True(OffHeapTable.NativeBytes(table) == 0);
            for (var i = 0; i < 1_000; i++)
            {
                table.Insert($"k{i:D4}", i);
            }

            Assert.True(OffHeapTable.NativeBytes(table) > 0);
            await DurableTable.SnapshotAsync(table);
            table.UpdateCounter("k0001", 100);
            table.Delete("k0002");
        }

        await using (var node = new Node())
        {
            var table = DurableTable.Open<string, long>(node, new TableOptions { Type = TableType.OrderedSet }, durability with { Storage = TableStorage.Heap });
            Assert.Equal(999, table.Count);
            Assert.Equal([101L], table.Lookup("k0001"));
            Assert.True(table.TryFirst(out var first));
            Assert.Equal("k0000", first);
        }
    }

    [Fact]
    public async Task A_traversal_across_many_resizes_visits_every_stable_key_once()
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, int>(node, new TableOptions());
        for (var k = 0; k < 500; k++)
        {
            table.Insert(k, k);
        }

        // The table grows from 64 buckets to thousands while the walk runs, and the walked keys are deleted.
        var seen = new List<int>();
        var added = 1_000_000;
        foreach (var (key, _) in Pages(table.Select((_, _) => true, (k, v) => new KeyValuePair<int, int>(k, v), 1)))
        {
            seen.Add(key);
            if (key >= 500)
            {
                continue; // an added key: adding more for each would never end the walk
            }

            table.Delete(key);
            for (var i = 0; i < 40; i++)
            {
                table.Insert(added++, 0);
            }
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(500, seen.Count(k => k < 500));
        Assert.Empty(table.Lookup(0));

        static IEnumerable<KeyValuePair<int, int>> Pages(SelectPage<KeyValuePair<int, int>> page)
        {
            while (true)
            {
                foreach (var item in page.Items)
                {
                    yield return item;
                }

                if (page.Continuation is not { } more)
                {
                    yield break;
                }

                page = more.Next();
            }
        }
    }

    [Fact]
    public async Task Next_from_a_deleted_key_works_while_fixed_and_across_growth()
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, int>(node, new TableOptions());
        for (var k = 0; k < 100; k++)
        {
            table.Insert(k, k);
        }

        Assert.True(table.TryFirst(out var first));
        table.Delete(first);
        Assert.Equal(TableError.BadKey, Assert.Throws<TableException>(() => table.TryNext(first, out _)).Error);
        using (table.Fix())
        {
            var seen = new List<int>();
            var key = first;
            while (table.TryNext(key, out key))
            {
                seen.Add(key);
                table.Delete(key);
                for (var i = 0; key < 100 && i < 30; i++)
                {
                    table.Insert(10_000 + (key * 100) + i, 0); // grows the table many times over
                }
            }

            Assert.Equal(99, seen.Count(k => k < 100));
            Assert.Equal(seen.Count, seen.Distinct().Count());
        }
    }

    /// <summary>
    /// Many threads, a small key space, every kind of operation at random, and the table forced to grow and to shrink
    /// back (delete-all) over and over; then the invariants: counters lose no increment, a traversal never returns a key
    /// twice (a bag's object), an ordered walk never goes back, values are never torn or mixed between keys, and the
    /// size matches the objects. (Batch isolation under one writer is checked by TableConcurrencyTests over both
    /// storages.)
    /// </summary>
    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Random_operations_under_threads_keep_every_invariant(TableType type)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var options = new TableOptions { Type = type, Access = TableAccess.Public };
        var table = OffHeapTable.New<int, string>(node, options);
        var counters = OffHeapTable.New<int, long>(node, options with { Type = type is TableType.OrderedSet ? TableType.OrderedSet : TableType.Set });
        var isSet = type is TableType.Set or TableType.OrderedSet;
        const int Threads = 6, Keys = 3_000, BatchKeys = 16, Counters = 8;
        var increments = new long[Threads];
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var deadline = DateTime.UtcNow.AddSeconds(4);
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            for (var i = 0; i < 200_000 && DateTime.UtcNow < deadline; i++)
            {
                var key = random.Next(Keys);
                switch (random.Next(12))
                {
                    case 0 or 1: table.Insert(key, Value(key, random.Next(3))); break;
                    case 2: table.InsertNew(key, Value(key, 0)); break;
                    case 3: table.Delete(key); break;
                    case 4: table.Take(key); break;
                    case 5:
                        foreach (var value in table.Lookup(key))
                        {
                            Check(key, value);
                        }

                        break;
                    case 6:
                        counters.UpdateCounter(random.Next(Counters), new CounterUpdate<long>(1).WithDefault(0));
                        increments[t]++;
                        break;
                    case 7:
                        // Batches take every stripe (or the tree's lock) while singles, walks and growth run.
                        var round = random.Next(1_000_000);
                        table.Insert(Enumerable.Range(Keys, BatchKeys).Select(k => new KeyValuePair<int, string>(k, $"batch {round}")));
                        break;
                    case 8:
                        if (isSet)
                        {
                            table.AddOrUpdate(key, Value(key, 0), (k, v) => { Check(k, v); return Value(k, 1); });
                        }

                        break;
                    case 9: table.DeleteObject(key, Value(key, random.Next(3))); break;
                    case 10 when i % 50 == 0: table.DeleteAllObjects(); break;
                    default:
                        if (i % 20 == 0)
                        {
                            WalkOnce();
                        }

                        break;
                }
            }
        })));

        Assert.Empty(violations);
        Assert.Equal(increments.Sum(), counters.Fold(0L, (sum, _, v) => sum + v));
        var objects = table.ToList();
        Assert.Equal(objects.Count, table.Count);
        WalkOnce();
        Assert.Empty(violations);

        string Value(int key, int variant) => $"{key}:{variant}:" + new string('v', key % 40);

        void Check(int key, string value)
        {
            if (key < Keys && !value.StartsWith($"{key}:", StringComparison.Ordinal))
            {
                violations.Enqueue($"key {key} holds {value}");
            }
        }

        void WalkOnce()
        {
            var keys = new HashSet<int>();
            var objects = new HashSet<(int, string)>();
            var previous = int.MinValue;
            foreach (var (key, value) in table.Select((_, _) => true, (k, v) => (k, v)))
            {
                if (!keys.Add(key) && isSet)
                {
                    violations.Enqueue($"key {key} visited twice");
                }

                if (!objects.Add((key, value)) && type != TableType.DuplicateBag)
                {
                    violations.Enqueue($"object {key}, {value} visited twice");
                }

                if (type == TableType.OrderedSet && key <= previous)
                {
                    violations.Enqueue($"key {key} after {previous}");
                }

                previous = key;
                if (key < Keys)
                {
                    Check(key, value);
                }
                else if (!value.StartsWith("batch ", StringComparison.Ordinal))
                {
                    violations.Enqueue($"batch key {key} holds {value}");
                }
            }
        }
    }

    private readonly record struct Point(int X, int Y);

    /// <summary>A mutable class, stored through JSON.</summary>
    private sealed class Account
    {
        public string Owner { get; set; } = "";

        public long Balance { get; set; }
    }

    /// <summary>A string codec that refuses the value "refused".</summary>
    private sealed class RefusingCodec : ICodec<string>
    {
        private readonly ICodec<string> _utf8 = Codecs.For<string>();

        public string Name => "refusing";

        public void Write(IBufferWriter<byte> writer, string value)
        {
            // A prefix written before refusing: a partial encoding must not reach the table either.
            writer.GetSpan(4)[..4].Fill(0xAB);
            writer.Advance(4);
            if (value == "refused")
            {
                throw new InvalidDataException("This codec refuses the value \"refused\".");
            }

            _utf8.Write(writer, value);
        }

        public string Read(ReadOnlySpan<byte> data) => _utf8.Read(data[4..]);
    }
}
