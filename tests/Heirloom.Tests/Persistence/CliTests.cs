using System.Text.Json;
using Heirloom.Cli;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

public sealed class CliTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("cli");

    public void Dispose() => _temporary.Dispose();

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = HeirloomCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A durable table with two snapshots and a journal after them: 30 keys, key k holding "v{k}".</summary>
    private async Task<string[]> DurableDirectory()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, string>(node, new TableOptions { Name = "people" }, new DurabilityOptions(_temporary.Path) { SnapshotAfterBytes = long.MaxValue });
        for (var k = 0; k < 30; k++)
        {
            table.Insert(k, $"v{k}");
            if (k % 10 == 9)
            {
                await DurableTable.SnapshotAsync(table);
            }
        }

        table.Insert([new(100, "a"), new(101, "b")]);
        table.Delete();
        return [.. Directory.GetFiles(_temporary.Path).Order()];
    }

    [Fact]
    public async Task Info_verify_and_dump_read_snapshots_journals_and_directories()
    {
        var files = await DurableDirectory();
        var snapshot = files.Last(f => f.EndsWith(".htab", StringComparison.Ordinal));
        var segment = files.Last(f => f.EndsWith(".log", StringComparison.Ordinal));

        var info = Run("info", snapshot);
        Assert.Equal(0, info.Code);
        using var header = JsonDocument.Parse(info.Output);
        Assert.Equal(30, header.RootElement.GetProperty("objects").GetInt64());
        Assert.Equal(30, header.RootElement.GetProperty("journalSequence").GetInt64());
        Assert.Equal("people", header.RootElement.GetProperty("name").GetString());
        Assert.Equal("utf8", header.RootElement.GetProperty("valueCodec").GetString());

        var dump = Run("dump", snapshot);
        Assert.Equal(0, dump.Code);
        var objects = dump.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal(Enumerable.Range(0, 30).Select(k => (long)k), objects.Select(o => o.GetProperty("key").GetInt64()).Order());
        Assert.All(objects, o => Assert.Equal($"v{o.GetProperty("key").GetInt64()}", o.GetProperty("value").GetString()));

        var journal = Run("dump", segment);
        Assert.Equal(0, journal.Code);
        var records = journal.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal([100L, 101L], records.Select(r => r.GetProperty("key").GetInt64()));
        Assert.All(records, r => Assert.True(r.GetProperty("batch").GetBoolean()));
        Assert.Equal("a", records[0].GetProperty("values")[0].GetString());

        Assert.Equal(0, Run("verify", snapshot).Code);
        Assert.Equal(0, Run("verify", segment).Code);
        var directory = Run("verify", _temporary.Path);
        Assert.Equal(0, directory.Code);
        Assert.Contains("opening it loads the snapshot to record 30 and replays records 31 to 31", directory.Output);
    }

    [Fact]
    public async Task Verify_reports_every_damaged_byte_and_says_whether_the_table_still_opens()
    {
        var files = await DurableDirectory();
        var snapshot = files.Last(f => f.EndsWith(".htab", StringComparison.Ordinal));
        var original = await File.ReadAllBytesAsync(snapshot);
        for (var i = 0; i < original.Length; i++)
        {
            var damaged = original.ToArray();
            damaged[i] ^= 0x20;
            await File.WriteAllBytesAsync(snapshot, damaged);
            Assert.Equal(1, Run("verify", snapshot).Code);
            var directory = Run("verify", _temporary.Path);
            Assert.Equal(1, directory.Code);
            Assert.Contains("still opens whole", directory.Error);
        }

        await File.WriteAllBytesAsync(snapshot, original);
        var segment = files.Last(f => f.EndsWith(".log", StringComparison.Ordinal));
        var journal = await File.ReadAllBytesAsync(segment);
        for (var i = 0; i < journal.Length; i++)
        {
            var damaged = journal.ToArray();
            damaged[i] ^= 0x20;
            await File.WriteAllBytesAsync(segment, damaged);
            var result = Run("verify", segment);
            Assert.Equal(1, result.Code);
            Assert.Contains("damaged", result.Error);
        }
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_error_and_exit_code_2()
    {
        var missing = Run("info", Path.Combine(_temporary.Path, "nothing.htab"));
        Assert.Equal(2, missing.Code);
        Assert.Contains("does not exist", missing.Error);

        var directory = Run("dump", _temporary.Path);
        Assert.Equal(3, directory.Code);
        Assert.Contains("holds no snapshot and no journal segment", directory.Error);

        var segment = (await DurableDirectory()).Last(f => f.EndsWith(".log", StringComparison.Ordinal));
        var mistyped = Run("dump", segment, "--key-codec", "int64");
        Assert.Equal(2, mistyped.Code);
        Assert.Contains("unknown codec 'int64'; the known codecs are i64, i32, f64, bool, guid, datetime, utf8, bytes and json:<type>", mistyped.Error);
        Assert.Equal(2, Run("dump", segment, "--value-codec", "json:").Code);
        Assert.Equal(0, Run("dump", segment, "--value-codec", "bytes").Code);

        Assert.NotEqual(0, Run("frobnicate").Code);
    }

    [Fact]
    public void What_holds_no_table_data_says_so_with_exit_code_3()
    {
        var stranger = Path.Combine(_temporary.Path, "notes.txt");
        File.WriteAllText(stranger, "hello");
        var unknown = Run("verify", stranger);
        Assert.Equal(3, unknown.Code);
        Assert.Contains("no table data", unknown.Error);
        Assert.Contains("neither a table file", unknown.Error);

        var empty = Path.Combine(_temporary.Path, "empty.bin");
        File.WriteAllBytes(empty, []);
        Assert.Equal(3, Run("info", empty).Code);

        // A directory with no table files in it, whatever else it holds.
        foreach (var command in new[] { "verify", "info" })
        {
            var directory = Run(command, _temporary.Path);
            Assert.Equal(3, directory.Code);
            Assert.Contains("holds no snapshot and no journal segment", directory.Error);
            Assert.DoesNotContain("opening it", directory.Output);
        }

        // An empty file named as a snapshot claims to be table data: it is damaged.
        var emptySnapshot = Path.Combine(_temporary.Path, "snapshot-00000000000000000001.htab");
        File.WriteAllBytes(emptySnapshot, []);
        Assert.Equal(1, Run("verify", emptySnapshot).Code);
    }

    [Fact]
    public async Task Empty_segments_read_sensibly()
    {
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, string>(node, new TableOptions(), new DurabilityOptions(_temporary.Path));
            table.Insert(1, "a");
            await DurableTable.SnapshotAsync(table);
        }

        var empty = Directory.GetFiles(_temporary.Path, "*.log").Order().Last();
        var verify = Run("verify", empty);
        Assert.Equal(0, verify.Code);
        Assert.Contains("no records yet (the next is 2)", verify.Output);

        var info = Run("info", empty);
        using var json = JsonDocument.Parse(info.Output);
        Assert.Equal(0, json.RootElement.GetProperty("records").GetInt64());
        Assert.Equal(2, json.RootElement.GetProperty("firstSequence").GetInt64());
        Assert.False(json.RootElement.TryGetProperty("lastSequence", out _));
        Assert.Equal("i64", json.RootElement.GetProperty("keyCodec").GetString());
        Assert.Equal("utf8", json.RootElement.GetProperty("valueCodec").GetString());
        Assert.Equal("Set", json.RootElement.GetProperty("type").GetString());

        var directory = Run("verify", _temporary.Path);
        Assert.Equal(0, directory.Code);
        Assert.Contains("opening it loads the snapshot to record 1 and has no records to replay", directory.Output);

        // A segment whose creation was cut short before its header: empty, and opening writes the header.
        File.WriteAllBytes(empty, []);
        var cut = Run("verify", empty);
        Assert.Equal(0, cut.Code);
        Assert.Contains("creation was interrupted", cut.Output);
        await using var reopened = new Node();
        Assert.Equal("a", DurableTable.Open<long, string>(reopened, new TableOptions(), new DurabilityOptions(_temporary.Path)).Lookup(1).Single());
    }

    [Fact]
    public async Task A_directory_whose_journal_is_damaged_says_it_cannot_be_opened_and_never_how_it_would_open()
    {
        var files = await DurableDirectory();
        var segment = files.Last(f => f.EndsWith(".log", StringComparison.Ordinal));
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^30] ^= 0x20;
        bytes = [.. bytes, .. bytes[^40..]];
        await File.WriteAllBytesAsync(segment, bytes);

        var result = Run("verify", _temporary.Path);
        Assert.Equal(1, result.Code);
        Assert.Contains("DAMAGED", result.Output);
        Assert.Contains("it cannot be opened", result.Output);
        Assert.DoesNotContain("opening it", result.Output);
    }

    [Fact]
    public void Help_documents_the_exit_codes()
    {
        foreach (var args in new[] { ["--help"], ["verify", "--help"], new[] { "info", "--help" } })
        {
            var help = Run(args);
            Assert.Equal(0, help.Code);
            Assert.Contains("0 whole; 1 damaged", help.Output);
            Assert.Contains("2 bad usage", help.Output);
            Assert.Contains("3 no table data", help.Output);
        }
    }
}
