using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables;

/// <summary>Ports of ets_SUITE's concurrency cases, with many threads and randomized interleavings.</summary>
public sealed class TableConcurrencyTests(ITestOutputHelper output)
{
    public static TheoryData<TableType, TableStorage> AllTypesOnBothStorages =>
        new()
        {
            { TableType.Set, TableStorage.Heap }, { TableType.OrderedSet, TableStorage.Heap }, { TableType.Bag, TableStorage.Heap }, { TableType.DuplicateBag, TableStorage.Heap },
            { TableType.Set, TableStorage.OffHeap }, { TableType.OrderedSet, TableStorage.OffHeap }, { TableType.Bag, TableStorage.OffHeap }, { TableType.DuplicateBag, TableStorage.OffHeap },
        };

    public static TheoryData<TableType, bool, TableStorage> AllTypesInMemoryAndDurable =>
        new()
        {
            { TableType.Set, false, TableStorage.Heap }, { TableType.OrderedSet, false, TableStorage.Heap }, { TableType.Bag, false, TableStorage.Heap }, { TableType.DuplicateBag, false, TableStorage.Heap },
            { TableType.Set, true, TableStorage.Heap }, { TableType.OrderedSet, true, TableStorage.Heap },
            { TableType.Set, false, TableStorage.OffHeap }, { TableType.OrderedSet, false, TableStorage.OffHeap }, { TableType.Bag, false, TableStorage.OffHeap }, { TableType.DuplicateBag, false, TableStorage.OffHeap },
            { TableType.Set, true, TableStorage.OffHeap }, { TableType.OrderedSet, true, TableStorage.OffHeap },
        };

    [Theory]
    [MemberData(nameof(AllTypesInMemoryAndDurable))]
    public async Task Batch_inserts_and_delete_all_objects_are_seen_whole_or_not_at_all(TableType type, bool durable, TableStorage storage)
    {
        await using var node = new Node();
        using var directory = new TemporaryDirectory("batches");
        var options = new TableOptions { Type = type, Access = TableAccess.Public };
        var table = durable
            ? DurableTable.Open(node, options, new DurabilityOptions(directory.Path) { Fsync = FsyncPolicy.None, Storage = storage }, Codecs.For<int>(), Codecs.For<int>())
            : NewTable<int, int>(node, options, storage);
        const int Batch = 50;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var round = 1; !stop.IsCancellationRequested; round++)
            {
                table.Insert(Enumerable.Range(0, Batch).Select(k => new KeyValuePair<int, int>(k, round)));
                table.DeleteAllObjects();
            }
        });

        // A reader that sees key 0 from some round must then see key Batch-1 from that round or a later one:
        // the batch is isolated. After delete_all_objects, nothing of the old round may remain.
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 30_000; i++)
            {
                if (table.TryGetValue(0, out var round) && table.TryGetValue(Batch - 1, out var last))
                {
                    Assert.True(last >= round, $"saw round {round} of key 0 but round {last} of the last key");
                }
            }
        })).ToArray();
        await Task.WhenAll(readers);
        await stop.CancelAsync();
        await writer;
        if (durable)
        {
            // The writes may have started a background snapshot; it must be done before its directory is deleted.
            await DurableTable.SnapshotAsync(table);
            table.Delete();
        }
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task Select_replace_is_a_compare_and_swap_under_threads(TableStorage storage)
    {
        await using var node = new Node();
        var table = NewTable<int, long>(node, new TableOptions { Access = TableAccess.Public }, storage);
        table.Insert(1, 0);
        const int Threads = 8, PerThread = 2_000;

        // Each thread increments by read-then-CAS, retrying on conflict: no increment may be lost.
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                while (true)
                {
                    table.TryGetValue(1, out var seen);
                    if (table.SelectReplace((k, v) => k == 1 && v == seen, (_, v) => v + 1) == 1)
                    {
                        break;
                    }
                }
            }
        })));
        Assert.Equal([(long)Threads * PerThread], table.Lookup(1));
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task Ordered_iteration_under_churn_is_sorted_and_never_repeats(TableStorage storage)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = NewTable<int, int>(node, new TableOptions { Type = TableType.OrderedSet, Access = TableAccess.Public }, storage);
        for (var k = 0; k < 2_000; k += 2)
        {
            table.Insert(k, k);
        }

        using var stop = new CancellationTokenSource();
        var churn = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            while (!stop.IsCancellationRequested)
            {
                var key = random.Next(2_000);
                if (key % 2 == 0)
                {
                    continue; // even keys are stable: every walk must see them all
                }

                if (random.Next(2) == 0)
                {
                    table.Insert(key, key);
                }
                else
                {
                    table.Delete(key);
                }
            }
        })).ToArray();

        for (var walk = 0; walk < 200; walk++)
        {
            var keys = walk % 2 == 0 ? table.ToList().Select(p => p.Key).ToList() : WalkWithNext(table);
            Assert.True(keys.SequenceEqual(keys.Order()), $"keys out of order ({walk % 2}): {string.Join(",", keys.Zip(keys.Skip(1)).Where(p => p.First >= p.Second).Take(5))}");
            Assert.Equal(keys.Count, keys.Distinct().Count());
            Assert.Equal(1_000, keys.Count(k => k % 2 == 0));
            var reverse = table.FoldReverse(new List<int>(), (acc, k, _) => { acc.Add(k); return acc; });
            Assert.True(reverse.SequenceEqual(reverse.OrderDescending()), "reverse fold out of order");
            Assert.Equal(1_000, reverse.Count(k => k % 2 == 0));
        }

        await stop.CancelAsync();
        await Task.WhenAll(churn);

        static List<int> WalkWithNext(Table<int, int> table)
        {
            var keys = new List<int>();
            for (var more = table.TryFirst(out var key); more; more = table.TryNext(key, out key))
            {
                keys.Add(key);
            }

            return keys;
        }
    }

    [Theory]
    [MemberData(nameof(AllTypesOnBothStorages))]
    public async Task Traversals_under_churn_never_throw_and_never_repeat_an_object(TableType type, TableStorage storage)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = NewTable<int, int>(node, new TableOptions { Type = type, Access = TableAccess.Public }, storage);
        using var stop = new CancellationTokenSource();
        var churn = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            while (!stop.IsCancellationRequested)
            {
                var key = random.Next(5_000);
                switch (random.Next(3))
                {
                    case 0: table.Insert(key, key); break;
                    case 1: table.Delete(key); break;
                    default: table.Insert(Enumerable.Range(key, 20).Select(k => new KeyValuePair<int, int>(k, k))); break;
                }
            }
        })).ToArray();

        for (var walk = 0; walk < 100; walk++)
        {
            var objects = table.Select((_, _) => true, (k, v) => (k, v));
            if (type != TableType.DuplicateBag)
            {
                Assert.Equal(objects.Count, objects.Distinct().Count());
            }

            Assert.All(objects, o => Assert.Equal(o.k, o.v));
        }

        await stop.CancelAsync();
        await Task.WhenAll(churn);
    }

    [Theory]
    [MemberData(nameof(AllTypesOnBothStorages))]
    public async Task Size_is_exact_once_concurrent_writers_finish(TableType type, TableStorage storage)
    {
        await using var node = new Node();
        var table = NewTable<int, int>(node, new TableOptions { Type = type, Access = TableAccess.Public }, storage);
        const int Threads = 8, PerThread = 5_000;
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var key = (t * PerThread) + i;
                table.Insert(key, key);
                if (i % 3 == 0)
                {
                    table.Delete(key);
                }
            }
        })));
        var expected = Threads * (PerThread - ((PerThread + 2) / 3));
        Assert.Equal(expected, table.Count);
        Assert.Equal(expected, table.ToList().Count);
        Assert.Equal(expected, table.GetInfo()!.Size);
    }

    [Theory]
    [InlineData(TableType.Set, TableStorage.Heap)]
    [InlineData(TableType.OrderedSet, TableStorage.Heap)]
    [InlineData(TableType.Set, TableStorage.OffHeap)]
    [InlineData(TableType.OrderedSet, TableStorage.OffHeap)]
    public async Task Writers_batches_and_growth_interleave_without_losing_a_write_and_a_function_writing_its_own_table_is_refused(TableType type, TableStorage storage)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = NewTable<int, long>(node, new TableOptions { Type = type, Access = TableAccess.Public }, storage);
        const int Threads = 8, PerThread = 20_000, HotKeys = 4;
        var batched = new long[Threads];
        var refused = new long[Threads];
        for (var key = 0; key < HotKeys; key++)
        {
            table.Insert(key, 0);
        }

        // Counters on a few hot keys, by single updates and by atomic batches; fresh keys that make the table grow
        // meanwhile; and updates whose function writes to the table, which must be refused with nothing changed (not
        // the write, not the update), rather than deadlock against a batch or lose the update.
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            for (var i = 0; i < PerThread; i++)
            {
                switch (random.Next(4))
                {
                    case 0:
                        table.UpdateCounter(random.Next(HotKeys), new CounterUpdate<long>(1).WithDefault(0));
                        break;
                    case 1:
                        table.UpdateCounters([(0, new CounterUpdate<long>(1).WithDefault(0)), (HotKeys - 1, new CounterUpdate<long>(1).WithDefault(0))]);
                        batched[t]++;
                        break;
                    case 2:
                        var echo = 1_000_000 + (t * PerThread) + i;
                        var error = Assert.Throws<TableException>(() => table.AddOrUpdate(random.Next(HotKeys), 1, (key, value) =>
                        {
                            table.Insert(echo, key);
                            return value + 1;
                        }));
                        Assert.Equal(TableError.BadArgument, error.Error);
                        refused[t]++;
                        break;
                    default:
                        table.Insert(10_000 + (t * PerThread) + i, 0);
                        break;
                }
            }
        })));

        var objects = table.ToList();
        var counted = objects.Where(o => o.Key < HotKeys).Sum(o => o.Value);
        var fresh = objects.Count(o => o.Key >= 10_000 && o.Key < 1_000_000);
        var singles = (Threads * PerThread) - batched.Sum() - refused.Sum() - fresh;
        Assert.Equal(singles + (2 * batched.Sum()), counted);
        Assert.DoesNotContain(objects, o => o.Key >= 1_000_000);
        Assert.Equal(HotKeys + fresh, table.Count);
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task Update_counter_loses_no_increment_under_threads(TableStorage storage)
    {
        await using var node = new Node();
        var table = NewTable<int, long>(node, new TableOptions { Access = TableAccess.Public }, storage);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                table.UpdateCounter(i % 4, new CounterUpdate<long>(1).WithDefault(0));
            }
        })));
        Assert.Equal(80_000, table.Fold(0L, (acc, _, v) => acc + v));
    }

    [Fact]
    public async Task Owners_killed_at_random_moments_hand_their_tables_to_the_heir_with_every_acknowledged_write()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var node = new Node();
        for (var round = 0; round < 200; round++)
        {
            var result = await node.Run(async ctx =>
            {
                var heir = ctx.Self;
                var acknowledged = new int[1];
                var owner = ctx.Spawn(async c =>
                {
                    var table = Table.New<int, int>(new TableOptions { Heir = heir, HeirData = round });
                    for (var i = 0; ; i++)
                    {
                        table.Insert(i, i);
                        Volatile.Write(ref acknowledged[0], i + 1);
                        if (i % 16 == 0)
                        {
                            await Task.Yield();
                        }
                    }
                });
                for (var spin = random.Next(50); spin > 0; spin--)
                {
                    await Task.Yield();
                }

                var monitor = ctx.Monitor(owner);
                ctx.Exit(owner, random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("crash"));

                // The transfer comes before the Down, so once the Down is here the transfer is too, if there is one.
                await ctx.ReceiveAsync(m => m is Down d && d.Ref == monitor);
                var transfer = await ctx.ReceiveAsync(m => m is TableTransfer, TimeSpan.Zero);
                if (transfer is null)
                {
                    // Killed before it created the table: nothing to inherit, nothing acknowledged.
                    return Volatile.Read(ref acknowledged[0]) == 0 ? (true, 0) : (false, -1);
                }

                var table = (Table<int, int>)((TableTransfer)transfer).Table;
                var count = Volatile.Read(ref acknowledged[0]);
                for (var k = 0; k < count; k++)
                {
                    if (!table.ContainsKey(k))
                    {
                        return (false, k);
                    }
                }

                return (table.Owner == ctx.Self, count);
            });
            Assert.True(result.Item1, $"round {round}: lost key {result.Item2}");
        }
    }

    private static Table<TKey, TValue> NewTable<TKey, TValue>(Node node, TableOptions options, TableStorage storage)
        where TKey : notnull =>
        storage == TableStorage.OffHeap ? OffHeapTable.New<TKey, TValue>(node, options) : Table.New<TKey, TValue>(node, options);
}
