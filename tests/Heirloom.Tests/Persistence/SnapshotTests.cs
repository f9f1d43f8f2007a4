using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

public sealed class SnapshotTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("snapshot");

    public void Dispose() => _temporary.Dispose();

    private DurabilityOptions Options(FsyncPolicy policy = FsyncPolicy.Always) => new(_temporary.Path) { Fsync = policy, SnapshotAfterBytes = long.MaxValue };

    private string[] SnapshotFiles => [.. Directory.GetFiles(_temporary.Path, "snapshot-*.htab").Order()];

    private string[] SegmentFiles => [.. Directory.GetFiles(_temporary.Path, "journal-*.log").Order()];

    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.OrderedSet)]
    [InlineData(TableType.Bag)]
    [InlineData(TableType.DuplicateBag)]
    public async Task A_snapshot_plus_the_journal_after_it_recovers_the_table(TableType type)
    {
        await using var node = new Node();
        var options = new TableOptions { Type = type };
        var table = DurableTable.Open<long, long>(node, options, Options());
        for (var k = 0; k < 100; k++)
        {
            table.Insert(k % 30, k);
        }

        var covered = await DurableTable.SnapshotAsync(table);
        Assert.Equal(100, covered);
        table.Delete(3);
        table.Insert([new(1000, 1), new(1001, 2)]);
        var expected = Sorted(table.ToList());
        table.Delete();

        var reopened = DurableTable.Open<long, long>(node, options, Options());
        Assert.Equal(expected, Sorted(reopened.ToList()));
        Assert.Equal(100, DurableTable.GetStatus(reopened).SnapshotSequence);
        Assert.Equal(102, DurableTable.GetStatus(reopened).LastSequence);
        reopened.Delete();
    }

    [Fact]
    public async Task Compaction_keeps_two_snapshots_and_the_journal_after_the_older()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        var sequences = new List<long>();
        for (var round = 0; round < 4; round++)
        {
            for (var k = 0; k < 10; k++)
            {
                table.Insert((round * 10) + k, k);
            }

            sequences.Add(await DurableTable.SnapshotAsync(table));
        }

        Assert.Equal([10, 20, 30, 40], sequences);
        Assert.Equal(["snapshot-00000000000000000030.htab", "snapshot-00000000000000000040.htab"], SnapshotFiles.Select(Path.GetFileName));
        Assert.Equal(["journal-00000000000000000031.log", "journal-00000000000000000041.log"], SegmentFiles.Select(Path.GetFileName));
        table.Delete();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        Assert.Equal(40, reopened.Count);
    }

    [Fact]
    public async Task A_damaged_newest_snapshot_falls_back_to_the_older_one_and_the_longer_journal()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        for (var round = 0; round < 3; round++)
        {
            for (var k = 0; k < 5; k++)
            {
                table.Insert(k, (round * 100) + k);
            }

            await DurableTable.SnapshotAsync(table);
        }

        table.Insert(7, 7);
        var expected = Sorted(table.ToList());
        table.Delete();

        var newest = SnapshotFiles[^1];
        var original = await File.ReadAllBytesAsync(newest);
        for (var i = 0; i < original.Length; i++)
        {
            var damaged = original.ToArray();
            damaged[i] ^= 0x04;
            await File.WriteAllBytesAsync(newest, damaged);
            var recovered = DurableTable.Open<long, long>(node, new TableOptions(), Options());
            Assert.Equal(expected, Sorted(recovered.ToList()));
            recovered.Delete();
        }

        for (var cut = 0; cut < original.Length; cut++)
        {
            await File.WriteAllBytesAsync(newest, original[..cut]);
            var recovered = DurableTable.Open<long, long>(node, new TableOptions(), Options());
            Assert.Equal(expected, Sorted(recovered.ToList()));
            recovered.Delete();
        }
    }

    [Theory]
    [InlineData(TableStorage.Heap)]
    [InlineData(TableStorage.OffHeap)]
    public async Task A_snapshot_of_many_megabytes_is_read_in_chunks_and_damage_anywhere_in_it_falls_back_to_the_older_one(TableStorage storage)
    {
        // Several 4 MB reading chunks, objects cut by their ends, and one value longer than a chunk.
        await using var node = new Node();
        var options = Options(FsyncPolicy.None) with { Storage = storage };
        var table = DurableTable.Open<long, string>(node, new TableOptions(), options);
        var random = new Random(11);
        for (var k = 0; k < 150_000; k++)
        {
            table.Insert(k, new string((char)('a' + random.Next(26)), random.Next(1, 90)));
        }

        table.Insert(-1, new string('z', 6 << 20));
        await DurableTable.SnapshotAsync(table);
        table.Insert(-2, "between the snapshots");
        await DurableTable.SnapshotAsync(table);
        table.Insert(-3, "after both");
        var expected = table.ToList().OrderBy(o => o.Key).ToList();
        table.Delete();

        var reopened = DurableTable.Open<long, string>(node, new TableOptions(), options);
        Assert.Equal(expected, reopened.ToList().OrderBy(o => o.Key).ToList());
        reopened.Delete();

        var newest = SnapshotFiles[^1];
        var original = await File.ReadAllBytesAsync(newest);
        Assert.True(original.Length > 12 << 20, $"The snapshot takes {original.Length:N0} bytes, fewer than three chunks.");
        foreach (var at in new[] { 200, (4 << 20) - 3, 5 << 20, original.Length / 2, original.Length - 40, original.Length - 1 })
        {
            var damaged = original.ToArray();
            damaged[at] ^= 0x10;
            await File.WriteAllBytesAsync(newest, damaged);
            var recovered = DurableTable.Open<long, string>(node, new TableOptions(), options);
            Assert.Equal(expected, recovered.ToList().OrderBy(o => o.Key).ToList());
            recovered.Delete();
        }

        foreach (var cut in new[] { 100, 4 << 20, original.Length - 33, original.Length - 1 })
        {
            await File.WriteAllBytesAsync(newest, original[..cut]);
            var recovered = DurableTable.Open<long, string>(node, new TableOptions(), options);
            Assert.Equal(expected, recovered.ToList().OrderBy(o => o.Key).ToList());
            recovered.Delete();
        }
    }

    [Fact]
    public async Task A_damaged_snapshot_the_journal_cannot_replace_stops_recovery_with_a_repair_command()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        for (var round = 0; round < 3; round++)
        {
            table.Insert(round, round);
            await DurableTable.SnapshotAsync(table);
        }

        table.Delete();
        var backup = new Dictionary<string, byte[]>();
        foreach (var snapshot in SnapshotFiles)
        {
            var bytes = backup[snapshot] = await File.ReadAllBytesAsync(snapshot);
            var damaged = bytes.ToArray();
            damaged[^1] ^= 1;
            await File.WriteAllBytesAsync(snapshot, damaged);
        }

        var error = Assert.Throws<SnapshotCorruptedException>(() => DurableTable.Open<long, long>(node, new TableOptions(), Options()));
        Assert.Equal(SnapshotFiles[^1], error.Path);
        Assert.Contains("Restore the snapshots from a backup", error.Message);
        Assert.Empty(node.Tables.All());

        // The directory was let go: restored from the backup, the table opens whole.
        foreach (var (path, bytes) in backup)
        {
            await File.WriteAllBytesAsync(path, bytes);
        }

        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        Assert.Equal(3, reopened.Count);
        reopened.Delete();
    }

    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.OrderedSet)]
    [InlineData(TableType.Bag)]
    [InlineData(TableType.DuplicateBag)]
    public async Task Snapshots_taken_while_writers_run_recover_exactly_the_final_table(TableType type)
    {
        await using var node = new Node();
        var options = new TableOptions { Type = type, Access = TableAccess.Public };
        var table = DurableTable.Open<long, long>(node, options, Options(FsyncPolicy.None));
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                long key = random.Next(2000);
                switch (random.Next(5))
                {
                    case 0:
                        table.Delete(key);
                        break;
                    case 1:
                        table.Insert([new(key, random.Next(4)), new(key + 1, random.Next(4)), new(key + 2, random.Next(4))]);
                        break;
                    case 2:
                        table.DeleteObject(key, random.Next(4));
                        break;
                    default:
                        table.Insert(key, random.Next(4));
                        break;
                }
            }
        })).ToArray();

        for (var i = 0; i < 10; i++)
        {
            // Each snapshot starts after more writes, so every one of them meets writers mid-way.
            var written = DurableTable.GetStatus(table).LastSequence;
            await TestKit.WaitUntil(() => DurableTable.GetStatus(table).LastSequence > written + 100);
            await DurableTable.SnapshotAsync(table);
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        var expected = Sorted(table.ToList());
        table.Delete();

        var reopened = DurableTable.Open<long, long>(node, options, Options());
        Assert.Equal(expected, Sorted(reopened.ToList()));
        Assert.Equal(2, SnapshotFiles.Length);
        reopened.Delete();
    }

    [Fact]
    public async Task The_journal_growing_past_the_threshold_starts_a_snapshot_in_the_background()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options(FsyncPolicy.None) with { SnapshotAfterBytes = 4096 });
        for (var k = 0; k < 1000; k++)
        {
            table.Insert(k, k);
        }

        await TestKit.WaitUntil(() => DurableTable.GetStatus(table).SnapshotSequence > 0);
        Assert.Null(DurableTable.GetStatus(table).LastSnapshotError);
        table.Delete();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        Assert.Equal(1000, reopened.Count);
        Assert.NotEmpty(SnapshotFiles);
    }

    [Fact]
    public async Task Deleting_the_table_during_a_snapshot_leaves_its_files_recoverable()
    {
        await using var node = new Node();
        for (var round = 0; round < 20; round++)
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
            table.Insert([.. Enumerable.Range(round * 1000, 1000).Select(k => new KeyValuePair<long, long>(k, k))]);
            var snapshot = DurableTable.SnapshotAsync(table);
            table.Delete();
            try
            {
                await snapshot; // it may have finished first
            }
            catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException or TableException)
            {
                // or been stopped by the delete
            }

            var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
            Assert.Equal((round + 1) * 1000, reopened.Count);
            reopened.Delete();
        }
    }

    [Fact]
    public async Task Bad_inputs_are_refused_with_clear_errors()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        var busy = Assert.Throws<IOException>(() => DurableTable.Open<long, long>(node, new TableOptions(), Options()));
        Assert.Contains("in use by another open durable table", busy.Message);
        await DurableTable.SnapshotAsync(table);
        table.Delete();

        var wrongType = Assert.Throws<TableFileException>(() => DurableTable.Open<long, long>(node, new TableOptions { Type = TableType.Bag }, Options()));
        Assert.Equal(TableFileError.WrongType, wrongType.Error);
        var wrongCodec = Assert.Throws<TableFileException>(() => DurableTable.Open<long, string>(node, new TableOptions(), Options()));
        Assert.Equal(TableFileError.WrongCodec, wrongCodec.Error);
        Assert.Throws<ArgumentOutOfRangeException>(() => Options() with { SnapshotAfterBytes = 0 });

        var plain = Table.New<long, long>(node, new TableOptions());
        Assert.Throws<ArgumentException>(() => DurableTable.GetStatus(plain));
        Assert.Equal([plain], node.Tables.All());
    }

    private static List<KeyValuePair<long, long>> Sorted(List<KeyValuePair<long, long>> objects) =>
        [.. objects.OrderBy(p => p.Key).ThenBy(p => p.Value)];
}
