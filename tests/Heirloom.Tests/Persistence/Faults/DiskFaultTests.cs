using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence.Faults;

/// <summary>
/// Faults injected at each step a durable table writes through: whatever fails, no failed write stays visible,
/// every acknowledged write is there after reopening, and the directory is released at once.
/// </summary>
public sealed class DiskFaultTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("faults");
    private readonly FaultInjectingFileSystem _files = new();

    public void Dispose() => _temporary.Dispose();

    private DurabilityOptions Options(FsyncPolicy policy = FsyncPolicy.Always) =>
        new(_temporary.Path) { Fsync = policy, SnapshotAfterBytes = long.MaxValue, FileSystem = _files };

    private static bool Segment(string path) => path.EndsWith(".log", StringComparison.Ordinal);

    private static bool Temporary(string path) => path.EndsWith(".tmp", StringComparison.Ordinal);

    private static bool Snapshot(string path) => path.EndsWith(".htab", StringComparison.Ordinal);

    private bool Directory(string path) => path == _temporary.Path;

    [Theory]
    [InlineData(FileOperation.Write, FaultInjectingFileSystem.NoSpace, 0)]
    [InlineData(FileOperation.Write, FaultInjectingFileSystem.IoError, 0)]
    [InlineData(FileOperation.Fsync, FaultInjectingFileSystem.NoSpace, 0)]
    [InlineData(FileOperation.Fsync, FaultInjectingFileSystem.IoError, 0)]
    [InlineData(FileOperation.Write, FaultInjectingFileSystem.NoSpace, 100_000)]
    [InlineData(FileOperation.Fsync, FaultInjectingFileSystem.IoError, 100_000)]
    public async Task A_failed_append_or_fsync_closes_the_table_hides_the_write_and_loses_nothing_acknowledged(FileOperation operation, int errno, int valueLength)
    {
        // A value longer than the journal's buffer is written under the write lock, in the append itself.
        var value = new string('v', valueLength);
        await using var node = new Node();
        var table = DurableTable.Open<long, string>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
        for (var k = 0; k < 20; k++)
        {
            table.Insert(k, value);
        }

        _files.Arm(operation, errno, Segment);
        var error = Assert.Throws<TableException>(() => table.Insert(20, value));
        AssertFailed(error, errno);

        // Nothing more is read or written, and the failed write is not visible.
        AssertFailed(Assert.Throws<TableException>(() => table.ContainsKey(20)), errno);
        AssertFailed(Assert.Throws<TableException>(() => table.Lookup(0)), errno);
        AssertFailed(Assert.Throws<TableException>(() => table.TryGetValue(0, out _)), errno);
        AssertFailed(Assert.Throws<TableException>(() => table.Insert(21, value)), errno);
        Assert.True(table.IsDeleted);
        Assert.NotNull(table.Failure);
        Assert.Null(node.Tables.WhereIs("t"));

        // The directory and the name are free at once; the reopened table has every acknowledged write and not the failed one.
        _files.Heal();
        var reopened = DurableTable.Open<long, string>(node, new TableOptions { Name = "t" }, Options());
        Assert.Equal(Enumerable.Range(0, 20).Select(k => (long)k), reopened.ToList().Select(p => p.Key).Order());
        reopened.Insert(20, value);
        Assert.Equal(21, reopened.Count);
    }

    [Fact]
    public async Task Concurrent_writers_lose_nothing_acknowledged_when_the_disk_fills_under_them()
    {
        for (var round = 0; round < 5; round++)
        {
            await using var node = new Node();
            var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, Options());
            var acknowledged = new System.Collections.Concurrent.ConcurrentBag<long>();
            var failed = new System.Collections.Concurrent.ConcurrentBag<long>();
            _files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.IoError, Segment, callsBeforeFailing: Random.Shared.Next(5, 60));
            await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(() =>
            {
                for (var i = 0; i < 200; i++)
                {
                    var key = (writer * 1000L) + i;
                    try
                    {
                        table.Insert(key, key);
                        acknowledged.Add(key);
                    }
                    catch (TableException e) when (e.Error == TableError.StorageFailed)
                    {
                        failed.Add(key);
                        return;
                    }
                }
            })));

            Assert.NotEmpty(failed);
            _files.Heal();
            var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
            var keys = reopened.ToList().Select(p => p.Key).ToHashSet();
            Assert.Superset(acknowledged.ToHashSet(), keys);

            // The segment is cut back to the last good fsync: no write that was told it failed comes back.
            Assert.DoesNotContain(failed, keys.Contains);
            reopened.Delete();
            foreach (var file in System.IO.Directory.GetFiles(_temporary.Path))
            {
                File.Delete(file);
            }
        }
    }

    [Theory]
    [InlineData(FileOperation.Create, FaultInjectingFileSystem.NoSpace)]
    [InlineData(FileOperation.Write, FaultInjectingFileSystem.NoSpace)]
    [InlineData(FileOperation.Fsync, FaultInjectingFileSystem.IoError)]
    [InlineData(FileOperation.Rename, FaultInjectingFileSystem.NoSpace)]
    public async Task A_snapshot_that_fails_leaves_the_previous_one_and_the_journal_and_the_table_writable(FileOperation operation, int errno)
    {
        await using var node = new Node();
        var reports = StorageReports(node);
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        table.Insert(1, 1);
        await DurableTable.SnapshotAsync(table);
        table.Insert(2, 2);
        var before = SnapshotFiles();

        _files.Arm(operation, errno, operation == FileOperation.Rename ? Snapshot : Temporary);
        var error = await Assert.ThrowsAsync<IOException>(() => DurableTable.SnapshotAsync(table));
        Assert.Equal(errno, error.HResult);
        _files.Heal();

        Assert.Equal(before, SnapshotFiles());
        Assert.Empty(System.IO.Directory.GetFiles(_temporary.Path, "*.tmp"));
        Assert.Null(table.Failure);
        table.Insert(3, 3);
        Assert.Same(error, DurableTable.GetStatus(table).LastSnapshotError);
        var report = Assert.Single(reports);
        Assert.False(report.TableClosed);
        Assert.Same(error, report.Exception);

        table.Delete();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        Assert.Equal([1L, 2L, 3L], reopened.ToList().Select(p => p.Key).Order());
    }

    [Fact]
    public async Task A_new_segment_that_cannot_be_created_fails_the_snapshot_only()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        table.Insert(1, 1);
        var first = Assert.Single(System.IO.Directory.GetFiles(_temporary.Path, "*.log"));
        _files.Arm(FileOperation.Create, FaultInjectingFileSystem.NoSpace, path => Segment(path) && path != first);
        await Assert.ThrowsAsync<IOException>(() => DurableTable.SnapshotAsync(table));
        _files.Heal();
        table.Insert(2, 2);
        table.Delete();
        Assert.Equal(2, DurableTable.Open<long, long>(node, new TableOptions(), Options()).Count);
    }

    [Fact]
    public async Task A_compaction_that_cannot_delete_old_files_keeps_them_reports_it_and_the_snapshot_stands()
    {
        await using var node = new Node();
        var reports = StorageReports(node);
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options());
        for (var k = 1; k <= 3; k++)
        {
            table.Insert(k, k);
            await DurableTable.SnapshotAsync(table);
        }

        var before = System.IO.Directory.GetFiles(_temporary.Path, "journal-*.log").Length;
        _files.Arm(FileOperation.Delete, FaultInjectingFileSystem.IoError, path => Segment(path) || Snapshot(path));
        table.Insert(4, 4);
        var sequence = await DurableTable.SnapshotAsync(table);
        _files.Heal();

        Assert.Equal(sequence, DurableTable.GetStatus(table).SnapshotSequence);
        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.False(r.TableClosed));
        Assert.True(System.IO.Directory.GetFiles(_temporary.Path, "journal-*.log").Length > before);
        table.Insert(5, 5);
        table.Delete();
        Assert.Equal(5, DurableTable.Open<long, long>(node, new TableOptions(), Options()).Count);
    }

    [Theory]
    [InlineData("snapshot")]
    [InlineData("rotation")]
    public async Task A_failed_directory_fsync_fails_the_table_and_reopening_recovers_everything_acknowledged(string during)
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options());
        for (var k = 0; k < 10; k++)
        {
            table.Insert(k, k);
        }

        // The rotation syncs the directory for its new segment; a snapshot's rename is synced after it.
        _files.Arm(FileOperation.SyncDirectory, FaultInjectingFileSystem.IoError, Directory, callsBeforeFailing: during == "snapshot" ? 1 : 0);
        var error = await Assert.ThrowsAsync<TableException>(() => DurableTable.SnapshotAsync(table));
        AssertFailed(error, FaultInjectingFileSystem.IoError);
        AssertFailed(Assert.Throws<TableException>(() => table.Insert(10, 10)), FaultInjectingFileSystem.IoError);
        _files.Heal();

        var reopened = DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options());
        Assert.Equal(10, reopened.Count);
    }

    [Theory]
    [InlineData(FsyncPolicy.EverySecond, FileOperation.Fsync)]
    [InlineData(FsyncPolicy.None, FileOperation.Write)]
    public async Task A_background_flush_failure_fails_the_table_and_is_reported(FsyncPolicy policy, FileOperation operation)
    {
        await using var node = new Node();
        var reported = new TaskCompletionSource<StorageFailureReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Reported += (_, report) =>
        {
            if (report is StorageFailureReport storage)
            {
                reported.TrySetResult(storage);
            }
        };
        var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options(policy));
        _files.Arm(operation, FaultInjectingFileSystem.NoSpace, Segment);
        table.Insert(1, 1);

        var report = await reported.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(report.TableClosed);
        Assert.Equal("t", report.TableName);
        AssertFailed(Assert.IsType<TableException>(report.Exception), FaultInjectingFileSystem.NoSpace);
        AssertFailed(Assert.Throws<TableException>(() => table.ContainsKey(1)), FaultInjectingFileSystem.NoSpace);

        _files.Heal();
        DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options(policy)).Delete();
    }

    [Fact]
    public async Task Disposing_the_node_releases_the_directory_even_when_the_last_flush_fails()
    {
        var node = new Node();
        var reports = StorageReports(node);
        var table = DurableTable.Open<long, long>(node, new TableOptions(), Options(FsyncPolicy.EverySecond));
        table.Insert(1, 1);
        _files.Arm(FileOperation.Write, FaultInjectingFileSystem.IoError, Segment);
        await node.DisposeAsync();
        Assert.True(Assert.Single(reports).TableClosed);

        _files.Heal();
        await using var next = new Node();
        DurableTable.Open<long, long>(next, new TableOptions(), Options()).Delete();
    }

    [Fact]
    public async Task The_failed_table_tells_its_heir()
    {
        await using var node = new Node();
        var heir = new TaskCompletionSource<TableFailed>(TaskCreationOptions.RunContinuationsAsynchronously);
        var heirPid = node.Spawn(async context => heir.TrySetResult((TableFailed)await context.ReceiveAsync(m => m is TableFailed)));
        var table = DurableTable.Open<long, long>(node, new TableOptions { Heir = heirPid }, Options());
        _files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.IoError, Segment);
        var error = Assert.Throws<TableException>(() => table.Insert(1, 1));
        var message = await heir.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(table, message.Table);
        Assert.Equal(error.Message, message.Failure.Message);
    }

    /// <summary>The storage failures the node reports from now on.</summary>
    private static List<StorageFailureReport> StorageReports(Node node)
    {
        var reports = new List<StorageFailureReport>();
        node.Reported += (_, report) =>
        {
            if (report is StorageFailureReport storage)
            {
                lock (reports)
                {
                    reports.Add(storage);
                }
            }
        };
        return reports;
    }

    private void AssertFailed(TableException error, int errno)
    {
        Assert.Equal(TableError.StorageFailed, error.Error);
        Assert.Contains(_temporary.Path, error.Message);
        Assert.Contains("DurableTable.Open", error.Message);
        var cause = Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Equal(errno, cause.HResult);
    }

    private string[] SnapshotFiles() =>
        [.. System.IO.Directory.GetFiles(_temporary.Path, "*.htab").Select(path => $"{path}:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))}").Order()];
}
