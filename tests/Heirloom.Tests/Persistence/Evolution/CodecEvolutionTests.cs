using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tests.Persistence.Golden;
using static Heirloom.Tests.Persistence.Evolution.Carts;

namespace Heirloom.Tests.Persistence.Evolution;

public sealed class CodecEvolutionTests : IDisposable
{
    private static readonly TableOptions Options = new() { Name = "carts", Access = TableAccess.Public };

    private readonly TemporaryDirectory _temporary = new("evolution");

    public void Dispose() => _temporary.Dispose();

    private string Directory => Path.Combine(_temporary.Path, "carts");

    private DurabilityOptions Durability => new(Directory);

    /// <summary>Writes carts a to d with <paramref name="codec"/>, a snapshot after b when asked, and leaves the table
    /// closed with records in its journal.</summary>
    private async Task WriteAsync<T>(ICodec<T> codec, Func<string, T> cart, bool snapshot)
    {
        await using var node = new Node();
        var table = DurableTable.Open(node, Options, Durability, Codecs.For<string>(), codec);
        table.Insert("a", cart("1"));
        table.Insert("b", cart("2"));
        if (snapshot)
        {
            await DurableTable.SnapshotAsync(table);
        }

        table.Insert("c", cart("3"));
        table.Insert([new("d", cart("4")), new("a", cart("5"))]);
        table.Delete("b");
    }

    private async Task<List<KeyValuePair<string, T>>> ReadAsync<T>(ICodec<T> codec)
    {
        await using var node = new Node();
        return [.. DurableTable.Open(node, Options, Durability, Codecs.For<string>(), codec).ToList().OrderBy(p => p.Key, StringComparer.Ordinal)];
    }

    private Task WriteV1Async(bool snapshot) => WriteAsync(V1, items => new CartV1("c" + items, items), snapshot);

    private string NewestSnapshot => System.IO.Directory.GetFiles(Directory, "snapshot-*.htab").Max(StringComparer.Ordinal)!;

    private JournalSegmentHeader NewestSegmentHeader => JournalReader.Read(System.IO.Directory.GetFiles(Directory, "journal-*.log").Max(StringComparer.Ordinal)!).Header!;

    private Dictionary<string, byte[]> Files() => System.IO.Directory.GetFiles(Directory).Where(f => !f.EndsWith("lock", StringComparison.Ordinal)).ToDictionary(f => f, File.ReadAllBytes);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Renaming_a_value_type_with_a_stable_name_changes_nothing_on_disk(bool snapshot)
    {
        await WriteAsync(new JsonCodec<Cart>(), items => new Cart("c" + items, items), snapshot);
        Assert.Equal("cart", NewestSegmentHeader.ValueCodec);
        var before = Files();

        var read = await ReadAsync(new JsonCodec<ShoppingCart>());

        Assert.Equal([new("a", new ShoppingCart("c5", "5")), new("c", new ShoppingCart("c3", "3")), new("d", new ShoppingCart("c4", "4"))], read);
        Assert.Equal(before.Keys.Order(), Files().Keys.Order());
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllBytes(file.Key)));
    }

    [Fact]
    public async Task A_table_file_written_under_a_stable_name_loads_as_the_renamed_type()
    {
        var path = Path.Combine(_temporary.Path, "carts.tab");
        await using var node = new Node();
        var table = Table.New<string, Cart>(node, new TableOptions());
        table.Insert("a", new Cart("Ann", "2"));
        await TableFile.SaveAsync(table, path, valueCodec: new JsonCodec<Cart>());

        var loaded = await TableFile.LoadAsync(node, path, Codecs.For<string>(), new JsonCodec<ShoppingCart>());

        Assert.Equal([new("a", new ShoppingCart("Ann", "2"))], loaded.ToList());
        Assert.Equal(("cart", 1), (TableFile.ReadInfo(path).ValueCodec, TableFile.ReadInfo(path).ValueCodecVersion));
    }

    [Fact]
    public async Task Data_written_under_the_clr_type_name_opens_under_a_stable_name_that_keeps_it_as_an_alias_and_is_rewritten_under_it()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", GoldenFileTests.CartsV1, _temporary.Path);
        var durability = new DurabilityOptions(directory);
        await using (var node = new Node())
        {
            var table = DurableTable.Open(node, Options, durability, Codecs.For<string>(), new JsonCodec<RenamedGoldenCart>());
            Assert.Equal(["alice", "carol", "erin", "frank"], table.ToList().Select(p => p.Key).Order(StringComparer.Ordinal));
            Assert.Equal(new RenamedGoldenCart("Alice", 3, 24.85m), table.Lookup("alice").Single());
        }

        var snapshot = TableFile.ReadInfo(System.IO.Directory.GetFiles(directory, "snapshot-*.htab").Max(StringComparer.Ordinal)!);
        Assert.Equal("golden-cart", snapshot.ValueCodec);
        Assert.Equal("golden-cart", JournalReader.Read(System.IO.Directory.GetFiles(directory, "journal-*.log").Max(StringComparer.Ordinal)!).Header!.ValueCodec);

        // Rewritten under the stable name, the table no longer needs the old name.
        await using (var node = new Node())
        {
            var table = DurableTable.Open(node, Options, durability, Codecs.For<string>(), new JsonCodec<RenamedWithoutAlias>());
            Assert.Equal(new RenamedWithoutAlias("Carol", 7, 120.05m), table.Lookup("carol").Single());
        }
    }

    [Fact]
    public async Task Data_under_an_old_clr_type_name_is_refused_without_the_alias_and_the_message_says_how_to_keep_it()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", GoldenFileTests.CartsV1, _temporary.Path);
        await using var node = new Node();

        var error = Assert.Throws<TableFileException>(() => DurableTable.Open(node, Options, new DurabilityOptions(directory), Codecs.For<string>(), new JsonCodec<RenamedWithoutAlias>()));

        Assert.Equal(TableFileError.WrongCodec, error.Error);
        Assert.Contains("utf8/json:Heirloom.Tests.Persistence.Golden.GoldenCart, not utf8/golden-cart", error.Message);
        Assert.Contains("Aliases = [\"json:Heirloom.Tests.Persistence.Golden.GoldenCart\"]", error.Message);
        Assert.Empty(node.Tables.All());
    }

    [Fact]
    public async Task Adding_members_needs_no_step_and_old_values_read_them_as_their_defaults()
    {
        await WriteAsync(new JsonCodec<Cart>(), items => new Cart("c" + items, items), snapshot: true);

        var read = await ReadAsync(new JsonCodec<CartWithNote>());

        Assert.Equal(new CartWithNote("c5", "5", null, 0), read[0].Value);
        Assert.Equal(1, NewestSegmentHeader.ValueCodecVersion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Changing_a_member_type_with_an_upgrade_step_opens_upgraded_and_rewrites_the_files_at_the_new_version(bool snapshot)
    {
        await WriteV1Async(snapshot);

        var read = await ReadAsync(V2);

        Assert.Equal([new("a", new CartV2("c5", 5)), new("c", new CartV2("c3", 3)), new("d", new CartV2("c4", 4))], read);
        var info = TableFile.ReadInfo(NewestSnapshot);
        Assert.Equal(("cart", 2, 3L), (info.ValueCodec, info.ValueCodecVersion, info.ObjectCount));
        Assert.Equal(2, NewestSegmentHeader.ValueCodecVersion);
        Assert.Equal("utf8/cart@v2", NewestSegmentHeader.Codecs);

        // Rewritten at version 2, the table opens with no step at all.
        Assert.Equal(read, await ReadAsync(V2Only));
    }

    [Fact]
    public async Task A_step_may_read_the_old_value_as_json_instead_of_a_type_kept_for_its_shape()
    {
        await WriteV1Async(snapshot: true);

        Assert.Equal([new("a", new CartV2("c5", 5)), new("c", new CartV2("c3", 3)), new("d", new CartV2("c4", 4))], await ReadAsync(V2FromJson));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_chain_of_steps_carries_version_1_data_to_version_3(bool snapshot)
    {
        await WriteV1Async(snapshot);

        var read = await ReadAsync(V3);

        Assert.Equal([new("a", new CartV3("c5", 5, 12.5m)), new("c", new CartV3("c3", 3, 7.5m)), new("d", new CartV3("c4", 4, 10m))], read);
        Assert.Equal(3, TableFile.ReadInfo(NewestSnapshot).ValueCodecVersion);
        Assert.Equal(read, await ReadAsync(V3Only));
    }

    [Fact]
    public async Task A_chain_also_reads_data_written_at_a_middle_version()
    {
        await WriteAsync(V2Only, items => new CartV2("c" + items, int.Parse(items, System.Globalization.CultureInfo.InvariantCulture)), snapshot: true);

        Assert.Equal(new CartV3("c5", 5, 12.5m), (await ReadAsync(V3))[0].Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_newer_codec_without_the_step_is_refused_naming_both_versions_and_the_files_are_left_as_they_were(bool snapshot)
    {
        await WriteV1Async(snapshot);
        var before = Files();
        await using var node = new Node();

        var error = Assert.Throws<CodecVersionException>(() => DurableTable.Open(node, Options, Durability, Codecs.For<string>(), V3Only));

        Assert.Equal(TableFileError.MissingUpgradeStep, error.Error);
        Assert.Equal(("cart", 1, 3, 3), (error.Codec, error.FileVersion, error.OldestVersion, error.Version));
        Assert.Contains("cart values at version 1", error.Message);
        Assert.Contains("writes version 3", error.Message);
        Assert.Contains("Register the upgrade step from version 1 to 2", error.Message);
        Assert.Contains(snapshot ? ".htab" : ".log", error.Message);
        Assert.Equal(before.Keys.Order(), Files().Keys.Order());
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllBytes(file.Key)));
        Assert.Empty(node.Tables.All());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_downgrade_is_refused_naming_both_versions(bool snapshot)
    {
        await WriteV1Async(snapshot);
        _ = await ReadAsync(V2); // now at version 2
        await using var node = new Node();

        var error = Assert.Throws<CodecVersionException>(() => DurableTable.Open(node, Options, Durability, Codecs.For<string>(), V1));

        Assert.Equal(TableFileError.NewerCodecVersion, error.Error);
        Assert.Equal((2, 1), (error.FileVersion, error.Version));
        Assert.Contains("cart values at version 2, newer than this code's version 1", error.Message);
        Assert.Contains("newer release", error.Message);
    }

    [Fact]
    public async Task A_table_file_written_at_a_newer_version_is_refused_and_an_older_one_is_upgraded_on_load()
    {
        var path = Path.Combine(_temporary.Path, "carts.tab");
        await using var node = new Node();
        var table = Table.New<string, CartV1>(node, new TableOptions());
        table.Insert("a", new CartV1("Ann", "2"));
        await TableFile.SaveAsync(table, path, valueCodec: V1);

        Assert.Equal([new("a", new CartV3("Ann", 2, 5m))], (await TableFile.LoadAsync(node, path, Codecs.For<string>(), V3)).ToList());

        var v3 = Table.New<string, CartV3>(node, new TableOptions());
        v3.Insert("a", new CartV3("Ann", 2, 5m));
        await TableFile.SaveAsync(v3, path, valueCodec: V3);
        Assert.Equal(3, TableFile.ReadInfo(path).ValueCodecVersion);
        var error = await Assert.ThrowsAsync<CodecVersionException>(() => TableFile.LoadAsync(node, path, Codecs.For<string>(), V2));
        Assert.Equal(TableFileError.NewerCodecVersion, error.Error);
    }

    [Fact]
    public async Task An_upgrade_over_a_torn_last_record_cuts_it_and_the_table_reopens()
    {
        await WriteV1Async(snapshot: false);
        var segment = System.IO.Directory.GetFiles(Directory, "journal-*.log").Single();
        await File.AppendAllBytesAsync(segment, [0x20, 0, 0, 0, 1, 2, 3]); // a record cut short by a crash

        var read = await ReadAsync(V2);

        Assert.Equal(3, read.Count);
        Assert.Equal(0, JournalReader.Read(segment, allowTornTail: false).TornBytes);
        Assert.Equal(read, await ReadAsync(V2));
    }

    [Fact]
    public async Task A_step_that_throws_fails_the_open_naming_the_file_and_no_table_is_left()
    {
        await WriteV1Async(snapshot: true);
        var failing = new VersionedCodec<CartV1>(V1).Then(V2Only, CartV2 (_) => throw new FormatException("no items"));
        await using var node = new Node();

        var error = Assert.Throws<TableFileException>(() => DurableTable.Open(node, Options, Durability, Codecs.For<string>(), failing));

        Assert.Contains("no items", error.Message);
        Assert.Contains(".htab", error.Message);
        Assert.Empty(node.Tables.All());
        Assert.Equal(1, TableFile.ReadInfo(NewestSnapshot).ValueCodecVersion);
    }

    [Fact]
    public void Bad_names_versions_and_steps_are_refused_with_what_to_do()
    {
        Assert.Contains("'@'", Assert.Throws<ArgumentException>(() => new JsonCodec<CartV1>("cart@v2")).Message);
        Assert.Throws<ArgumentException>(() => new JsonCodec<CartV1>(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JsonCodec<CartV1>("cart", 0));
        Assert.Contains("'@'", Assert.Throws<ArgumentException>(() => new CodecNameAttribute("a@b")).Message);
        var skipping = Assert.Throws<ArgumentException>(() => new VersionedCodec<CartV1>(V1).Then(V3Only, old => new CartV3(old.Customer, 0, 0)));
        Assert.Contains("must lead to version 2", skipping.Message);
        Assert.Contains("NotSupported", Assert.ThrowsAny<NotSupportedException>(() => V2Only.ReadVersion(1, "{}"u8)).GetType().Name);
    }

    [Fact]
    public void Codec_names_and_versions_are_as_documented()
    {
        Assert.Equal(("json:Heirloom.Tests.Persistence.Evolution.Carts+CartV1", 1), (new JsonCodec<CartV1>().Name, new JsonCodec<CartV1>().Version));
        Assert.Equal(["json:Heirloom.Tests.Persistence.Evolution.Carts+Cart"], new JsonCodec<Cart>().Aliases);
        Assert.Equal(("cart", 3, 1), (V3.Name, V3.Version, V3.OldestVersion));
        Assert.Contains("json:Heirloom.Tests.Persistence.Evolution.Carts+CartV1", V3.Aliases);
        Assert.DoesNotContain("cart", V3.Aliases);
        Assert.Equal(1, Codecs.For<long>().Version);
    }
}
