using System.Buffers.Binary;
using System.Security.Cryptography;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

public sealed class TableFileTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("tablefile");

    public void Dispose() => _temporary.Dispose();

    private string PathFor(string name) => Path.Combine(_temporary.Path, name);

    public sealed record Person(string Name, int Age);

    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.OrderedSet)]
    [InlineData(TableType.Bag)]
    [InlineData(TableType.DuplicateBag)]
    public async Task A_saved_table_loads_back_with_every_object_in_order(TableType type)
    {
        await using var node = new Node();
        var table = Table.New<long, string>(node, new TableOptions { Type = type, Name = "saved", Access = TableAccess.Public });
        for (var k = 0; k < 500; k++)
        {
            table.Insert(k % 97, $"v{k}");
        }

        var path = PathFor("saved.tab");
        await TableFile.SaveAsync(table, path);
        var info = await TableFile.ReadInfoAsync(path);
        Assert.Equal((TableFile.Version, type, TableAccess.Public, "saved", table.Count), (info.Version, info.Type, info.Access, info.Name, info.ObjectCount));

        var expected = table.ToList();
        table.Delete();
        var loaded = await TableFile.LoadAsync<long, string>(node, path);
        Assert.Equal(expected, loaded.ToList());
        Assert.Equal("saved", loaded.Name);
        Assert.True(loaded.Heir.IsNone);
    }

    [Fact]
    public async Task Json_codec_serves_other_types_and_the_loader_becomes_owner()
    {
        await using var node = new Node();
        var path = PathFor("people.tab");
        var codec = new JsonCodec<Person>();
        var owner = await node.Run(async ctx =>
        {
            var people = Table.New<Guid, Person>(new TableOptions());
            people.Insert(Guid.NewGuid(), new Person("Ada", 36));
            await TableFile.SaveAsync(people, path, valueCodec: codec);
            var loaded = await TableFile.LoadAsync<Guid, Person>(node, path, valueCodec: codec);
            Assert.Equal(new Person("Ada", 36), loaded.ToList().Single().Value);
            return loaded.Owner == ctx.Self;
        });
        Assert.True(owner);
        var wrong = await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<Guid, string>(node, path));
        Assert.Equal(TableFileError.WrongCodec, wrong.Error);
    }

    [Fact]
    public async Task A_taken_name_fails_the_load_and_leaves_no_table()
    {
        await using var node = new Node();
        var table = Table.New<long, long>(node, new TableOptions { Name = "taken" });
        table.Insert(1, 1);
        var path = PathFor("taken.tab");
        await TableFile.SaveAsync(table, path);
        var before = node.Tables.All().Count;
        var error = await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<long, long>(node, path));
        Assert.Equal(TableFileError.CannotCreateTable, error.Error);
        Assert.Equal(before, node.Tables.All().Count);
    }

    [Fact]
    public async Task Truncation_anywhere_and_bit_flips_anywhere_are_detected()
    {
        await using var node = new Node();
        var table = Table.New<long, string>(node, new TableOptions { Type = TableType.Bag, Name = "fragile" });
        for (var k = 0; k < 20; k++)
        {
            table.Insert(k % 7, $"value {k}");
        }

        var path = PathFor("fragile.tab");
        await TableFile.SaveAsync(table, path);
        table.Delete();
        var good = await File.ReadAllBytesAsync(path);
        var damaged = PathFor("damaged.tab");
        for (var length = 0; length < good.Length; length++)
        {
            await File.WriteAllBytesAsync(damaged, good[..length]);
            await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<long, string>(node, damaged));
        }

        for (var i = 0; i < good.Length; i++)
        {
            var flipped = good.ToArray();
            flipped[i] ^= (byte)(1 << (i % 8));
            await File.WriteAllBytesAsync(damaged, flipped);
            await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<long, string>(node, damaged));
        }

        Assert.Empty(node.Tables.All());
    }

    [Fact]
    public async Task Unknown_versions_foreign_files_and_wrong_counts_have_their_own_errors()
    {
        await using var node = new Node();
        var table = Table.New<long, long>(node, new TableOptions());
        table.Insert([new(1, 1), new(2, 2)]);
        var path = PathFor("t.tab");
        await TableFile.SaveAsync(table, path);
        var good = await File.ReadAllBytesAsync(path);

        var future = good.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(future.AsSpan(8), 99);
        Assert.Equal(TableFileError.UnknownVersion, (await LoadBytes(future)).Error);

        await File.WriteAllTextAsync(PathFor("foreign.tab"), "just some text that is long enough to not be a table");
        Assert.Equal(TableFileError.BadFile, (await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<long, long>(node, PathFor("foreign.tab")))).Error);

        // A writer that got the count wrong but the checksum right: only the count check catches it.
        var miscounted = good.ToArray();
        var countOffset = 8 + 4 + 2 + 4;
        BinaryPrimitives.WriteInt64LittleEndian(miscounted.AsSpan(countOffset), 3);
        SHA256.HashData(miscounted.AsSpan(0, miscounted.Length - 32)).CopyTo(miscounted.AsSpan(miscounted.Length - 32));
        Assert.Equal(TableFileError.InvalidObjectCount, (await LoadBytes(miscounted)).Error);

        async Task<TableFileException> LoadBytes(byte[] bytes)
        {
            var file = PathFor(Guid.NewGuid().ToString("N"));
            await File.WriteAllBytesAsync(file, bytes);
            return await Assert.ThrowsAsync<TableFileException>(() => TableFile.LoadAsync<long, long>(node, file));
        }
    }

    [Fact]
    public async Task A_save_while_writers_run_is_a_consistent_snapshot()
    {
        await using var node = new Node();
        var table = Table.New<long, long>(node, new TableOptions { Access = TableAccess.Public });
        table.Insert(Enumerable.Range(0, 100).Select(k => new KeyValuePair<long, long>(k, -1)));
        using var stop = new CancellationTokenSource();

        // Each batch writes the same round into 100 keys; a consistent snapshot holds one round for all of them.
        var writer = Task.Run(() =>
        {
            for (long round = 0; !stop.IsCancellationRequested; round++)
            {
                table.Insert(Enumerable.Range(0, 100).Select(k => new KeyValuePair<long, long>(k, round)));
            }
        });
        for (var i = 0; i < 20; i++)
        {
            var path = PathFor($"snap{i}.tab");
            await TableFile.SaveAsync(table, path);
            var loaded = await TableFile.LoadAsync<long, long>(node, path);
            Assert.Single(loaded.ToList().Select(p => p.Value).Distinct());
            loaded.Delete();
        }

        await stop.CancelAsync();
        await writer;
    }

    [Fact]
    public void Types_without_a_built_in_codec_are_told_what_to_use()
    {
        var error = Assert.Throws<NotSupportedException>(() => Codecs.For<Person>());
        Assert.Contains("JsonCodec<Person>", error.Message);
        foreach (var roundTrip in new Func<bool>[]
        {
            () => RoundTrip(Codecs.For<int>(), -5), () => RoundTrip(Codecs.For<double>(), 2.5), () => RoundTrip(Codecs.For<bool>(), true),
            () => RoundTrip(Codecs.For<DateTime>(), new DateTime(2026, 11, 22, 1, 2, 3, DateTimeKind.Utc)), () => RoundTrip(Codecs.For<string>(), "héllo"),
        })
        {
            Assert.True(roundTrip());
        }

        Assert.Equal([1, 2, 3], Decode(Codecs.For<byte[]>(), [1, 2, 3]));

        static bool RoundTrip<T>(ICodec<T> codec, T value) => EqualityComparer<T>.Default.Equals(Decode(codec, value), value);

        static T Decode<T>(ICodec<T> codec, T value)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            codec.Write(buffer, value);
            return codec.Read(buffer.WrittenSpan);
        }
    }
}
