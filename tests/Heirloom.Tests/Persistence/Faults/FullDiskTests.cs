using Heirloom.Cli;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Persistence.Faults;

/// <summary>A durable table on a real, small file system filled to the last byte: a 1 MiB tmpfs, mounted when the tests
/// run as root (as they do in CI).</summary>
public sealed class FullDiskTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_full_disk_closes_the_table_and_once_space_is_back_it_reopens_with_every_acknowledged_write()
    {
        if (Environment.UserName != "root")
        {
            output.WriteLine($"Not run: mounting a tmpfs needs root, and the tests run as {Environment.UserName}.");
            return;
        }

        var mount = Directory.CreateTempSubdirectory("heirloom-full-").FullName;
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount);
        if (code != 0 && (error.Contains("permission denied", StringComparison.OrdinalIgnoreCase) || error.Contains("not permitted", StringComparison.OrdinalIgnoreCase)))
        {
            // Root without the capability to mount (an unprivileged container) is not root for this purpose.
            Directory.Delete(mount);
            output.WriteLine($"Not run: root here may not mount a tmpfs ({error.Trim()}).");
            return;
        }

        Assert.True(code == 0, $"mount failed ({code}): {error}");
        try
        {
            await FillFreeContinueReopenVerify(mount);
        }
        finally
        {
            Assert.Equal(0, Run("umount", mount).Code);
            Directory.Delete(mount);
        }
    }

    private static async Task FillFreeContinueReopenVerify(string mount)
    {
        var directory = Path.Combine(mount, "table");
        var filler = Path.Combine(mount, "filler");
        var saved = Path.Combine(mount, "saved.htab");
        await File.WriteAllBytesAsync(filler, new byte[300 << 10]);
        var value = new string('v', 1000);
        await using var node = new Node();

        var small = Table.New<long, string>(node, new TableOptions());
        small.Insert(1, "first");
        await TableFile.SaveAsync(small, saved);
        var savedBefore = await File.ReadAllBytesAsync(saved);

        // Fill the disk through the table until a write fails.
        var table = DurableTable.Open<long, string>(node, new TableOptions { Name = "t" }, new DurabilityOptions(directory) { SnapshotAfterBytes = long.MaxValue });
        long acknowledged = 0;
        TableException? failure = null;
        while (failure is null)
        {
            try
            {
                table.Insert(acknowledged + 1, value);
                acknowledged++;
            }
            catch (TableException e)
            {
                failure = e;
            }
        }

        Assert.Equal(TableError.StorageFailed, failure.Error);
        Assert.Contains("No space left on device", failure.Message);
        Assert.IsAssignableFrom<IOException>(failure.InnerException);
        Assert.Equal(TableError.StorageFailed, Assert.Throws<TableException>(() => table.ContainsKey(acknowledged + 1)).Error);
        Assert.True(acknowledged > 100, $"only {acknowledged} writes fitted");

        // Saving a table file on the full disk fails and leaves the previous file as it was.
        var big = Table.New<long, string>(node, new TableOptions());
        for (var k = 0; k < 1000; k++)
        {
            big.Insert(k, value);
        }

        await Assert.ThrowsAnyAsync<IOException>(() => TableFile.SaveAsync(big, saved));
        Assert.Equal(savedBefore, await File.ReadAllBytesAsync(saved));
        Assert.Empty(Directory.GetFiles(mount, "*.tmp"));

        // Space comes back; the same process reopens the table with every acknowledged write and not the failed one.
        File.Delete(filler);
        var reopened = DurableTable.Open<long, string>(node, new TableOptions { Name = "t" }, new DurabilityOptions(directory) { SnapshotAfterBytes = long.MaxValue });
        Assert.Equal(acknowledged, reopened.Count);
        Assert.False(reopened.ContainsKey(acknowledged + 1));
        for (var k = 1; k <= 20; k++)
        {
            reopened.Insert(acknowledged + k, value);
        }

        // A snapshot needs room for a second copy of the table, which the disk lacks: it fails, and the table goes on.
        await Assert.ThrowsAnyAsync<IOException>(() => DurableTable.SnapshotAsync(reopened));
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
        Assert.Null(reopened.Failure);
        reopened.Insert(acknowledged + 21, value);
        reopened.Delete();

        var verify = new StringWriter();
        Assert.Equal(0, HeirloomCommand.Run(["verify", directory], verify, new StringWriter()));
        Assert.Contains($"to {acknowledged + 21:N0}", verify.ToString());
        var again = DurableTable.Open<long, string>(node, new TableOptions(), new DurabilityOptions(directory));
        Assert.Equal(acknowledged + 21, again.Count);
        again.Delete();
    }

    private static (int Code, string Error) Run(string command, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }
}
