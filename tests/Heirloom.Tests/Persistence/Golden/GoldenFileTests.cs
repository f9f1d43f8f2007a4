using System.Text;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence.Golden;

/// <summary>
/// Files written by the first format of table files, snapshots and journal segments (format version 1, codecs named
/// without a version), committed as bytes. Every later Heirloom must read them to exactly these contents: a change
/// that breaks reading data already on disk fails here. The files are never regenerated; a new format adds new golden
/// files beside these.
/// </summary>
public sealed class GoldenFileTests : IDisposable
{
    // A <string, GoldenCart> set: four carts, a snapshot at record 4, then an update, a delete, a batch and a delete.
    internal static readonly Dictionary<string, string> CartsV1 = new()
    {
        ["journal-00000000000000000001.log"] = "2f3039c9419d180adcfb37789e1e6d1a5af761b14375935a73e757b58979d68e",
        ["journal-00000000000000000005.log"] = "82b4de7b4ffe05ab1b3ca540dfcd13e7e38f738da6766ccb47cdf2144b94805a",
        ["snapshot-00000000000000000004.htab"] = "5941e874a1e3e0921e4c909db422e63c928286bd999ea0fc7f27b7fcdd918520",
    };

    private const string CountersV1 = "e585dbbfb8896eb8f3978ce3a5e8fad8cd0912f20e9fb0354616ddff0cc03b56";
    private const string CartCodec = "json:Heirloom.Tests.Persistence.Golden.GoldenCart";

    private static readonly KeyValuePair<string, GoldenCart>[] CartsRecovered =
    [
        new("alice", new GoldenCart("Alice", 3, 24.85m)),
        new("carol", new GoldenCart("Carol", 7, 120.05m)),
        new("erin", new GoldenCart("Erin", 4, 40m)),
        new("frank", new GoldenCart("Frank", 1, 1.5m)),
    ];

    private readonly TemporaryDirectory _temporary = new("golden");

    public void Dispose() => _temporary.Dispose();

    [Fact]
    public async Task A_version_1_table_file_reads_back_header_and_objects_exactly()
    {
        var path = GoldenFiles.Checked("counters-v1.tab", CountersV1);
        var info = TableFile.ReadInfo(path);
        Assert.Equal(new TableFileInfo(1, TableType.OrderedSet, TableAccess.Public, "counters", 5, 0, "i64", "utf8", info.Checksum), info);
        Assert.True(TableFile.IsIntact(path));

        await using var node = new Node();
        var table = await TableFile.LoadAsync<long, string>(node, path);
        Assert.Equal(
            [new(-40L, "minus forty"), new(1L, "one"), new(2L, "two"), new(3L, "three"), new(1_000_000_000_000L, "ünïcödé ✓")],
            table.ToList());
        Assert.Equal((TableType.OrderedSet, TableAccess.Public, "counters"), (table.Type, table.Access, table.Name));
    }

    [Fact]
    public void A_version_1_table_file_reads_raw_as_the_tools_see_it()
    {
        var contents = TableFile.ReadRaw(GoldenFiles.Checked("counters-v1.tab", CountersV1));
        Assert.Equal(5, contents.Objects.Count);
        Assert.Equal("ünïcödé ✓", Encoding.UTF8.GetString(contents.Objects[^1].Value));
        Assert.Equal(1_000_000_000_000L, BitConverter.ToInt64(contents.Objects[^1].Key));
    }

    [Fact]
    public void A_version_1_durable_directory_has_the_snapshot_and_journal_records_it_was_written_with()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", CartsV1, _temporary.Path);
        var snapshot = TableFile.ReadRaw(Path.Combine(directory, "snapshot-00000000000000000004.htab"));
        Assert.Equal((TableType.Set, "carts", 4L, 4L, "utf8", CartCodec), (snapshot.Info.Type, snapshot.Info.Name, snapshot.Info.ObjectCount, snapshot.Info.JournalSequence, snapshot.Info.KeyCodec, snapshot.Info.ValueCodec));

        var records = new List<JournalRecord>();
        var first = JournalReader.Read(Path.Combine(directory, "journal-00000000000000000001.log"), allowTornTail: false);
        var second = JournalReader.Read(Path.Combine(directory, "journal-00000000000000000005.log"), onRecord: records.Add);
        Assert.Equal((1L, 4L, 0L), (first.FirstSequence, first.Records, first.TornBytes));
        Assert.Equal((5L, 4L, 0L), (second.FirstSequence, second.Records, second.TornBytes));
        Assert.Equal(new JournalSegmentHeader(TableType.Set, TableAccess.Public, "utf8", CartCodec), second.Header);
        Assert.Equal([5L, 6L, 7L, 8L], records.Select(r => r.Sequence));
        Assert.Equal([false, false, true, false], records.Select(r => r.IsBatch));
        Assert.Equal(["alice", "bob", "erin", "frank", "dave"], records.SelectMany(r => r.Entries).Select(e => Encoding.UTF8.GetString(e.Key!)));
        Assert.Equal([1, 0, 1, 1, 0], records.SelectMany(r => r.Entries).Select(e => e.Values.Count));
    }

    [Fact]
    public async Task A_version_1_durable_directory_recovers_to_exactly_its_table_and_keeps_working()
    {
        var directory = GoldenFiles.CopyDirectory("carts-v1", CartsV1, _temporary.Path);
        var options = new TableOptions { Name = "carts", Access = TableAccess.Public };
        await using (var node = new Node())
        {
            var table = DurableTable.Open<string, GoldenCart>(node, options, new DurabilityOptions(directory), valueCodec: new JsonCodec<GoldenCart>());
            Assert.Equal(CartsRecovered, table.ToList().OrderBy(p => p.Key, StringComparer.Ordinal));
            table.Insert("gina", new GoldenCart("Gina", 1, 2m));
            await DurableTable.SnapshotAsync(table);
            table.Delete("alice");
        }

        await using (var node = new Node())
        {
            var table = DurableTable.Open<string, GoldenCart>(node, options, new DurabilityOptions(directory), valueCodec: new JsonCodec<GoldenCart>());
            Assert.Equal([.. CartsRecovered.Skip(1), new("gina", new GoldenCart("Gina", 1, 2m))], table.ToList().OrderBy(p => p.Key, StringComparer.Ordinal));
        }
    }
}
