using System.Text.Json;
using Heirloom.Cli;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tests.Persistence.Golden;
using static Heirloom.Tests.Persistence.Evolution.Carts;

namespace Heirloom.Tests.Persistence.Evolution;

/// <summary>The command line shows each file's codecs and versions, and dumps a durable table as opening recovers it.</summary>
public sealed class CliEvolutionTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("cli-evolution");

    public void Dispose() => _temporary.Dispose();

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = HeirloomCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static List<JsonElement> Lines(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];

    [Fact]
    public async Task Info_shows_codec_names_and_versions_of_snapshots_segments_and_directories()
    {
        var directory = Path.Combine(_temporary.Path, "carts");
        var options = new TableOptions { Name = "carts" };
        await using (var node = new Node())
        {
            var table = DurableTable.Open(node, options, new DurabilityOptions(directory), Codecs.For<string>(), V1);
            table.Insert("a", new CartV1("Ann", "2"));
        }

        await using (var node = new Node())
        {
            DurableTable.Open(node, options, new DurabilityOptions(directory), Codecs.For<string>(), V2).Insert("b", new CartV2("Bob", 3));
        }

        var snapshot = Directory.GetFiles(directory, "snapshot-*.htab").Single();
        var newest = Directory.GetFiles(directory, "journal-*.log").Max(StringComparer.Ordinal)!;
        var oldest = Directory.GetFiles(directory, "journal-*.log").Min(StringComparer.Ordinal)!;

        var info = Lines(Run("info", snapshot).Output).Single();
        Assert.Equal(("utf8", 1, "cart", 2), (info.GetProperty("keyCodec").GetString(), info.GetProperty("keyCodecVersion").GetInt32(), info.GetProperty("valueCodec").GetString(), info.GetProperty("valueCodecVersion").GetInt32()));
        Assert.Equal(2, Lines(Run("info", newest).Output).Single().GetProperty("valueCodecVersion").GetInt32());
        Assert.Equal(1, Lines(Run("info", oldest).Output).Single().GetProperty("valueCodecVersion").GetInt32());

        var report = Run("info", directory);
        Assert.Equal(0, report.Code);
        Assert.Contains($"{Path.GetFileName(snapshot)}: snapshot to record 1, ", report.Output);
        Assert.Contains("whole, codecs utf8/cart@v2", report.Output);
        Assert.Contains($"{Path.GetFileName(oldest)}: records 1 to 1, ", report.Output);
        Assert.Contains("codecs utf8/cart\n", report.Output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Dump_of_a_directory_prints_the_table_as_recovered()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", GoldenFileTests.CartsV1, _temporary.Path);

        var dump = Run("dump", directory);

        Assert.Equal(0, dump.Code);
        Assert.Equal("", dump.Error);
        var objects = Lines(dump.Output);
        Assert.Equal(["alice", "carol", "erin", "frank"], objects.Select(o => o.GetProperty("key").GetString()!).Order(StringComparer.Ordinal));
        var alice = objects.Single(o => o.GetProperty("key").GetString() == "alice").GetProperty("value");
        Assert.Equal((3, 24.85m), (alice.GetProperty("Items").GetInt32(), alice.GetProperty("Total").GetDecimal()));

        // The dump matches what opening the table gives.
        await using var node = new Node();
        var table = DurableTable.Open<string, GoldenCart>(node, new TableOptions(), new DurabilityOptions(directory), valueCodec: new JsonCodec<GoldenCart>());
        Assert.Equal(table.Count, objects.Count);
    }

    [Fact]
    public async Task Dump_of_a_directory_keeps_a_bag_s_values_and_a_clear()
    {
        var directory = Path.Combine(_temporary.Path, "bag");
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, string>(node, new TableOptions { Type = TableType.Bag }, new DurabilityOptions(directory));
            table.Insert(1, "gone");
            table.DeleteAllObjects();
            table.Insert(1, "x");
            await DurableTable.SnapshotAsync(table);
            table.Insert(1, "y");
            table.Insert(2, "z");
            table.Delete(2);
        }

        var objects = Lines(Run("dump", directory).Output);

        Assert.Equal([(1L, "x"), (1L, "y")], objects.Select(o => (o.GetProperty("key").GetInt64(), o.GetProperty("value").GetString())));
    }

    [Fact]
    public async Task Dump_of_a_damaged_directory_fails_with_exit_code_1()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", GoldenFileTests.CartsV1, _temporary.Path);
        var segment = Path.Combine(directory, "journal-00000000000000000005.log");
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^20] ^= 0xFF; // inside the last record
        await File.WriteAllBytesAsync(segment, bytes);

        var dump = Run("dump", directory);

        Assert.Equal(1, dump.Code);
        Assert.Contains("damaged", dump.Error);
    }
}
