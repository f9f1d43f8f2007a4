using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables;

/// <summary>Readers of an off-heap hash table take no lock: they copy or decode a key's bytes optimistically and keep
/// the result only if no writer touched the key's stripe meanwhile, while unlinked records wait for them before being freed. These
/// tests race such readers against every kind of writer: values replaced by ones of other lengths (records swapped and
/// retired) or of the same length (overwritten in place), deletes, growth, batches and clears (the whole table retired).
/// A reader must only ever see a whole value that was stored for its key, and never memory that was freed.</summary>
public sealed class OffHeapReaderTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.Bag)]
    [InlineData(TableType.DuplicateBag)]
    public async Task Readers_without_a_lock_see_only_whole_values_of_their_key_under_every_kind_of_write(TableType type)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var table = OffHeapTable.New<int, string>(node, new TableOptions { Type = type, Access = TableAccess.Public });
        const int Keys = 4_096, Writers = 3, Readers = 3, WritesPerWriter = 60_000;
        using var writersDone = new CancellationTokenSource();
        long reads = 0, found = 0;

        // Each reader and writer on a thread of its own, writers starting once every reader runs: on a thread pool of
        // two threads, pooled writers could otherwise finish before any reader started, and the test race nothing.
        using var readersRunning = new CountdownEvent(Readers);
        var readers = Enumerable.Range(0, Readers).Select(r => Task.Factory.StartNew(() =>
        {
            readersRunning.Signal();
            var random = new Random(seed + 100 + r);
            while (!writersDone.IsCancellationRequested)
            {
                var key = random.Next(Keys);
                IReadOnlyList<string> values = random.Next(3) switch
                {
                    0 => table.TryGetValue(key, out var value) ? new[] { value } : [],
                    1 => table.Lookup(key),
                    _ => table.ContainsKey(key) ? [] : Array.Empty<string>(),
                };
                foreach (var value in values)
                {
                    AssertWhole(key, value);
                }

                Interlocked.Increment(ref reads);
                Interlocked.Add(ref found, values.Count);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Factory.StartNew(() =>
        {
            readersRunning.Wait();
            var random = new Random(seed + w);
            for (var i = 0; i < WritesPerWriter; i++)
            {
                var key = random.Next(Keys);
                switch (random.Next(100))
                {
                    case < 60:
                        table.Insert(key, ValueFor(key, random.Next(1, 200), random.Next(26)));
                        break;
                    case < 80:
                        table.Delete(key);
                        break;
                    case < 90 when type == TableType.Set:
                        // The same length as any value of that length: overwritten in place.
                        var filler = random.Next(26);
                        table.AddOrUpdate(key, ValueFor(key, 40, filler), (k, _) => ValueFor(k, 40, filler));
                        break;
                    case < 99:
                        table.Insert([new KeyValuePair<int, string>(key, ValueFor(key, random.Next(1, 300), random.Next(26))), new KeyValuePair<int, string>((key + 1) % Keys, ValueFor((key + 1) % Keys, 7, random.Next(26)))]);
                        break;
                    default:
                        table.DeleteAllObjects();
                        break;
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll(writers);
        writersDone.Cancel();
        await Task.WhenAll(readers);
        output.WriteLine($"{reads:N0} reads, {found:N0} values seen");
        Assert.True(found > 0, "The readers saw no value at all: the test raced nothing.");
        foreach (var (key, value) in table.ToList())
        {
            AssertWhole(key, value);
        }
    }

    [Fact]
    public async Task A_codec_that_throws_on_torn_bytes_is_retried_and_never_surfaces_while_values_are_overwritten_in_place()
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, string>(node, new TableOptions { Type = TableType.Set, Access = TableAccess.Public }, valueCodec: new WholeValueCodec());
        const int Keys = 64, Readers = 2, Writes = 200_000;
        for (var key = 0; key < Keys; key++)
        {
            table.Insert(key, ValueFor(key, 200, 0));
        }

        // Every write keeps the length, so each one overwrites the record's bytes in place under the readers.
        using var writerDone = new CancellationTokenSource();
        long reads = 0;
        using var readersRunning = new CountdownEvent(Readers);
        var readers = Enumerable.Range(0, Readers).Select(r => Task.Factory.StartNew(() =>
        {
            readersRunning.Signal();
            var random = new Random(r);
            while (!writerDone.IsCancellationRequested)
            {
                var key = random.Next(Keys);
                Assert.True(table.TryGetValue(key, out var value));
                AssertWhole(key, value);
                Interlocked.Increment(ref reads);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        var writer = Task.Factory.StartNew(() =>
        {
            readersRunning.Wait();
            var random = new Random(7);
            for (var i = 0; i < Writes; i++)
            {
                var key = random.Next(Keys);
                var letter = random.Next(26);
                table.AddOrUpdate(key, ValueFor(key, 200, letter), (k, _) => ValueFor(k, 200, letter));
            }
        }, TaskCreationOptions.LongRunning);

        await writer;
        writerDone.Cancel();
        await Task.WhenAll(readers);
        output.WriteLine($"{reads:N0} reads");
        Assert.True(reads > 0, "No read ran: the test raced nothing.");
    }

    [Fact]
    public async Task A_codec_that_throws_on_untouched_bytes_surfaces_its_exception()
    {
        await using var node = new Node();
        var table = OffHeapTable.New<int, string>(node, new TableOptions { Type = TableType.Set, Access = TableAccess.Public }, valueCodec: new WholeValueCodec());
        table.Insert(1, "1:3:ab");

        Assert.Throws<FormatException>(() => table.TryGetValue(1, out var _));
    }

    /// <summary>A value that names its key and its own length, then repeats one letter (at least once): a copy torn
    /// between two values, even two of the same length overwritten in place, or one of another key, is caught.</summary>
    private static string ValueFor(int key, int length, int letter)
    {
        var head = $"{key}:{length}:";
        return head + new string((char)('a' + letter), Math.Max(1, length - head.Length));
    }

    private static void AssertWhole(int key, string value)
    {
        var parts = value.Split(':', 3);
        Assert.True(parts.Length == 3 && parts[0] == key.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Key {key} read a value of another key, or torn: '{value}'.");
        var length = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Math.Max(length, parts[0].Length + parts[1].Length + 3), value.Length);
        Assert.True(parts[2].All(c => c == parts[2][0]), $"Key {key} read a torn value: '{value}'.");
    }

    /// <summary>UTF-8, refusing to decode a value that is not whole (see <see cref="ValueFor"/>): a codec that throws
    /// on the torn bytes a lock-free read may meet.</summary>
    private sealed class WholeValueCodec : ICodec<string>
    {
        public string Name => "whole-value";

        public void Write(System.Buffers.IBufferWriter<byte> writer, string value) => System.Text.EncodingExtensions.GetBytes(System.Text.Encoding.UTF8, value, writer);

        public string Read(ReadOnlySpan<byte> data)
        {
            var value = System.Text.Encoding.UTF8.GetString(data);
            var parts = value.Split(':', 3);
            return parts.Length == 3 && parts[2].Length > 0 && parts[2].All(c => c == parts[2][0])
                ? value
                : throw new FormatException($"Not a whole value: '{value}'.");
        }
    }
}
