using System.Buffers;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

/// <summary>Loading encoded objects into an off-heap hash store: objects in traversal order (a snapshot of this store)
/// are appended with no search, anything else is inserted. Either way the store must end as inserting the same objects
/// in the same order would leave it, and work as any other afterwards.</summary>
public sealed class OffHeapLoadingTests
{
    private static readonly ICodec<long> KeyCodec = Codecs.For<long>();
    private static readonly ICodec<string> ValueCodec = Codecs.For<string>();

    // A thousand objects are linked on the loading thread, fifty thousand on a second one, and the records of a
    // hundred thousand (reserved ahead) are carved from blocks; reserving one object makes the table grow step by step
    // while it is being filled.
    [Theory]
    [InlineData(TableType.Set, 1_000, true)]
    [InlineData(TableType.Set, 50_000, true)]
    [InlineData(TableType.Set, 50_000, false)]
    [InlineData(TableType.Set, 100_000, true)]
    [InlineData(TableType.Bag, 1_000, true)]
    [InlineData(TableType.Bag, 50_000, false)]
    [InlineData(TableType.Bag, 100_000, true)]
    [InlineData(TableType.DuplicateBag, 1_000, false)]
    [InlineData(TableType.DuplicateBag, 50_000, true)]
    [InlineData(TableType.DuplicateBag, 100_000, true)]
    public void Objects_in_traversal_order_load_into_the_same_table(TableType type, int objects, bool reserve)
    {
        var random = new Random(objects + (int)type);
        var source = NewStore(type);
        for (var i = 0; i < objects; i++)
        {
            // Bags get several values per key, repeated values among them.
            source.Insert(random.Next(type == TableType.Set ? int.MaxValue : objects / 4), $"value-{random.Next(64)}");
        }

        var inOrder = source.Enumerate(reverse: false).ToList();
        var loaded = Load(NewStore(type), inOrder, reserve ? inOrder.Count : 1);

        Assert.Equal(source.Count, loaded.Count);
        Assert.Equal(inOrder, loaded.Enumerate(reverse: false));
        foreach (var key in inOrder.Select(o => o.Key).Distinct().Take(2_000))
        {
            Assert.Equal(source.Lookup(key), loaded.Lookup(key));
        }

        // The loaded chains are ordinary ones: writes, reads and traversal go on agreeing with the source.
        for (var i = 0; i < 5_000; i++)
        {
            var key = inOrder[random.Next(inOrder.Count)].Key + (random.Next(3) == 0 ? 1 : 0);
            if (random.Next(3) == 0)
            {
                Assert.Equal(source.Delete(key), loaded.Delete(key));
            }
            else
            {
                var value = $"later-{random.Next(1_000)}";
                source.Insert(key, value);
                loaded.Insert(key, value);
            }
        }

        Assert.Equal(source.Enumerate(reverse: false), loaded.Enumerate(reverse: false));
        Assert.Equal(source.Count, loaded.Count);
    }

    [Theory]
    [InlineData(TableType.Set, 1_000)]
    [InlineData(TableType.Set, 50_000)]
    [InlineData(TableType.Set, 100_000)]
    [InlineData(TableType.Bag, 50_000)]
    [InlineData(TableType.Bag, 100_000)]
    [InlineData(TableType.DuplicateBag, 100_000)]
    public void Objects_out_of_order_or_repeated_load_as_inserting_them_would(TableType type, int objects)
    {
        var random = new Random(objects * 3 + (int)type);
        var source = NewStore(type);
        for (var i = 0; i < objects; i++)
        {
            source.Insert(random.Next(objects), $"value-{random.Next(64)}");
        }

        // Traversal order, broken at random: objects held back and given later, objects given ahead of their place
        // (and again there), a key given again at once (a set's later value wins; a bag's repeated value stays single)
        // and again later on.
        var inOrder = source.Enumerate(reverse: false).ToList();
        var sequence = new List<KeyValuePair<long, string>>();
        var heldBack = new List<KeyValuePair<long, string>>();
        for (var i = 0; i < inOrder.Count; i++)
        {
            var (key, value) = inOrder[i];
            switch (random.Next(40))
            {
                case 0:
                    heldBack.Add(inOrder[i]);
                    continue;
                case 1:
                    sequence.Add(inOrder[Math.Min(i + random.Next(1, 100), inOrder.Count - 1)]);
                    break;
                case 2:
                    sequence.Add(inOrder[i]);
                    sequence.Add(new(key, random.Next(2) == 0 ? value : $"again-{i}"));
                    continue;
                case 3:
                    heldBack.Add(new(key, $"later-{i}"));
                    break;
                case 4 when heldBack.Count > 0:
                    var at = random.Next(heldBack.Count);
                    sequence.Add(heldBack[at]);
                    heldBack.RemoveAt(at);
                    break;
            }

            sequence.Add(inOrder[i]);
        }

        sequence.AddRange(heldBack.OrderBy(_ => random.Next()));

        var expected = NewStore(type);
        foreach (var (key, value) in sequence)
        {
            expected.Insert(key, value);
        }

        var loaded = Load(NewStore(type), sequence, sequence.Count);

        Assert.Equal(expected.Count, loaded.Count);
        Assert.Equal(expected.Enumerate(reverse: false), loaded.Enumerate(reverse: false));
    }

    [Fact]
    public void Objects_loaded_into_a_table_that_holds_some_are_inserted_among_them()
    {
        var random = new Random(11);
        var source = NewStore(TableType.Set);
        for (var i = 0; i < 20_000; i++)
        {
            source.Insert(random.Next(), $"value-{random.Next(64)}");
        }

        var inOrder = source.Enumerate(reverse: false).ToList();
        var loaded = NewStore(TableType.Set);
        var expected = NewStore(TableType.Set);
        foreach (var (key, _) in inOrder.Where((_, i) => i % 7 == 0))
        {
            loaded.Insert(key, "held before loading");
            expected.Insert(key, "held before loading");
        }

        loaded.Insert(-1, "ordered anywhere");
        expected.Insert(-1, "ordered anywhere");
        foreach (var (key, value) in inOrder)
        {
            expected.Insert(key, value);
        }

        Load(loaded, inOrder, inOrder.Count);

        Assert.Equal(expected.Count, loaded.Count);
        Assert.Equal(expected.Enumerate(reverse: false), loaded.Enumerate(reverse: false));
    }

    // With no reader, a block whose last record is unlinked is freed at once, while writers of other stripes may still
    // be counting their records out of it: several writers race for that.
    [Theory]
    [InlineData(TableType.Set, false, 1, 2)]
    [InlineData(TableType.DuplicateBag, false, 1, 2)]
    [InlineData(TableType.Set, true, 1, 2)]
    [InlineData(TableType.Set, false, 4, 0)]
    [InlineData(TableType.DuplicateBag, false, 3, 1)]
    public async Task Blocks_whose_records_were_mostly_replaced_are_compacted_and_freed_under_readers(TableType type, bool clearMidway, int writers, int readerCount)
    {
        const int Objects = 300_000;
        var source = NewStore(type);
        for (var key = 0L; key < Objects; key++)
        {
            source.Insert(key, $"first-{key}");
        }

        var loaded = Load(NewStore(type), source.Enumerate(reverse: false).ToList(), Objects);
        Assert.True(loaded.CarvedBlockBytes >= RecordBlock.Size, "The loaded records were carved from blocks.");

        // Readers take no lock: while records are copied out of their blocks and the blocks freed, each must read the
        // key's first value, its replacement, or nothing (a deleted key), and never freed memory.
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, readerCount).Select(seed => Task.Factory.StartNew(() =>
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                var key = (long)random.Next(Objects);
                if (loaded.TryGetValue(key, out var value) && value != $"first-{key}" && value != $"second-{key}")
                {
                    throw new InvalidOperationException($"Key {key} read '{value}'.");
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        // Four of every five keys get a value of another length (a new record each), one in twenty is deleted: every
        // block keeps under a quarter of its records. Each writer takes every writers-th key, all over every block.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Factory.StartNew(() =>
        {
            for (var key = (long)writer; key < Objects; key += writers)
            {
                switch (key % 20)
                {
                    case < 16:
                        Replace(source, key);
                        Replace(loaded, key);
                        break;
                    case 16:
                        source.Delete(key);
                        loaded.Delete(key);
                        break;
                }

                if (clearMidway && key == Objects * 9 / 10)
                {
                    source.Clear();
                    loaded.Clear();
                }
            }
        }, TaskCreationOptions.LongRunning)));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (loaded.CarvedBlockBytes > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Equal(0, loaded.CarvedBlockBytes);
        Assert.Equal(source.Count, loaded.Count);
        Assert.Equal(source.Enumerate(reverse: false), loaded.Enumerate(reverse: false));

        // Every record is of its own allocation now: the table costs what a table filled by inserts costs.
        Assert.Equal(source.NativeBytes, loaded.NativeBytes);

        static void Replace(OffHeapHashStore<long, string> store, long key)
        {
            store.Delete(key);
            store.Insert(key, $"second-{key}");
        }
    }

    private static OffHeapHashStore<long, string> NewStore(TableType type) => new(type, KeyCodec, ValueCodec, NodeScheduler.ThreadPool);

    private static OffHeapHashStore<long, string> Load(OffHeapHashStore<long, string> store, IEnumerable<KeyValuePair<long, string>> objects, int reserve)
    {
        store.Reserve(reserve);
        try
        {
            foreach (var (key, value) in objects)
            {
                store.LoadEncoded(Encode(KeyCodec, key), Encode(ValueCodec, value));
            }
        }
        finally
        {
            store.EndLoading();
        }

        return store;
    }

    private static byte[] Encode<T>(ICodec<T> codec, T value)
    {
        var writer = new ArrayBufferWriter<byte>();
        codec.Write(writer, value);
        return writer.WrittenSpan.ToArray();
    }
}
