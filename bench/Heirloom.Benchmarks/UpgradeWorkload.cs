using System.Diagnostics;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>
/// Opening a durable table written at codec version 1 with a step to version 2, against plain recovery of the same
/// table in the same run: a snapshot of every entry and a journal of updates after it (a tenth of the entries), JSON
/// values. Plain recovery opens one copy of the directory with the version 1 codec; the upgrade opens another copy
/// with the step, which reads, upgrades, and writes a snapshot at version 2 before the open returns.
/// </summary>
internal static class UpgradeWorkload
{
    public sealed record ReadingV1(long Sensor, string Unit);

    public sealed record ReadingV2(long Sensor, string Unit, int Scale);

    private static ICodec<ReadingV1> V1 => new JsonCodec<ReadingV1>("reading");

    private static ICodec<ReadingV2> V2 => new VersionedCodec<ReadingV1>(V1)
        .Then(new JsonCodec<ReadingV2>("reading", version: 2), old => new ReadingV2(old.Sensor, old.Unit, old.Unit == "mV" ? 3 : 0));

    /// <summary>Milliseconds to open plainly and to open with the upgrade.</summary>
    public static async Task<(double Plain, double Upgrade)> RunAsync(int entries)
    {
        var root = Directory.CreateTempSubdirectory("heirloom-bench-upgrade-").FullName;
        try
        {
            var plain = Path.Combine(root, "plain");
            var upgraded = Path.Combine(root, "upgraded");
            await WriteAsync(plain, entries);
            Directory.CreateDirectory(upgraded);
            foreach (var file in Directory.GetFiles(plain).Where(f => Path.GetFileName(f) != "lock"))
            {
                File.Copy(file, Path.Combine(upgraded, Path.GetFileName(file)));
            }

            var plainMs = await OpenAsync(plain, V1, entries, table => table.Lookup(1).Single().Unit == "mV");
            var upgradeMs = await OpenAsync(upgraded, V2, entries, table => table.Lookup(1).Single().Scale == 3);
            var snapshot = TableFile.ReadInfo(Directory.GetFiles(upgraded, "snapshot-*.htab").Max(StringComparer.Ordinal)!);
            if (snapshot.ValueCodecVersion != 2 || snapshot.ObjectCount != entries)
            {
                throw new InvalidOperationException($"The upgraded table's newest snapshot holds {snapshot.ObjectCount} objects at version {snapshot.ValueCodecVersion}, not {entries} at version 2.");
            }

            return (plainMs, upgradeMs);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task WriteAsync(string directory, int entries)
    {
        await using var node = new Node();
        var table = DurableTable.Open(node, new TableOptions(), new DurabilityOptions(directory) { Fsync = FsyncPolicy.None, SnapshotAfterBytes = long.MaxValue }, Codecs.For<long>(), V1);
        for (long k = 0; k < entries; k++)
        {
            table.Insert(k, new ReadingV1(k, "V"));
        }

        await DurableTable.SnapshotAsync(table);
        for (long k = 1; k < entries; k += 10)
        {
            table.Insert(k, new ReadingV1(k, "mV"));
        }

        table.Delete();
    }

    private static async Task<double> OpenAsync<T>(string directory, ICodec<T> codec, int entries, Func<Table<long, T>, bool> check)
    {
        await using var node = new Node();
        var started = Stopwatch.GetTimestamp();
        var table = DurableTable.Open(node, new TableOptions(), new DurabilityOptions(directory) { Fsync = FsyncPolicy.None, SnapshotAfterBytes = long.MaxValue }, Codecs.For<long>(), codec);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (table.Count != entries || !check(table))
        {
            throw new InvalidOperationException($"{directory} opened with {table.Count} entries, not {entries}, or with the wrong values.");
        }

        table.Delete();
        return elapsed;
    }
}
