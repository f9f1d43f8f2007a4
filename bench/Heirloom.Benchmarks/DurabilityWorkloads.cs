using System.Diagnostics;
using System.Diagnostics.Metrics;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>
/// The durability measures, all in one run on one machine: durable insert per fsync policy against in-memory insert,
/// group commit with 1, 8 and 64 writers under fsync Always, recovery of a million records, and a snapshot of a
/// million records while writers run, one owner process with many writes in flight, opening a million entries
/// written at codec version 1 with a step to version 2 against plain recovery, and a big table (ten million entries)
/// on each storage. Usage: <c>durability [insert] [group-commit] [owner] [recovery] [snapshot] [upgrade] [big]
/// [entries=N]</c> (default all but big; <c>entries</c> sets the size of upgrade, 1,000,000 unless given, and of big,
/// 10,000,000 unless given). Files go to the system's temporary directory.
/// </summary>
internal static partial class DurabilityWorkloads
{
    private const int Inserts = 200_000;
    private const int Million = 1_000_000;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(string[] arguments)
    {
        if (arguments is [BigStep, var step, var directory, var storage, var count])
        {
            return await RunStepAsync(step, directory, Enum.Parse<TableStorage>(storage), int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
        }

        int? entries = null;
        if (arguments.FirstOrDefault(a => a.StartsWith("entries=", StringComparison.Ordinal)) is { } size)
        {
            if (!int.TryParse(size.AsSpan(8), out var parsed) || parsed < 10)
            {
                Console.Error.WriteLine($"'{size}' is not a number of entries (at least 10): give entries=N, such as entries=10000.");
                return 2;
            }

            entries = parsed;
        }

        var sections = arguments.Where(a => !a.StartsWith("entries=", StringComparison.Ordinal)).ToArray();

        // "big" holds ten million entries: it runs only when named.
        string[] known = ["insert", "group-commit", "owner", "recovery", "snapshot", "upgrade", "big"];
        if (sections.Except(known).FirstOrDefault() is { } unknown)
        {
            Console.Error.WriteLine($"Unknown section '{unknown}'; the sections are {string.Join(", ", known)}.");
            return 2;
        }

        bool Runs(string section) => (sections.Length == 0 && section != "big") || sections.Contains(section);

        Console.WriteLine($"Heirloom durability, {Environment.ProcessorCount} cores, {RuntimeVersion()}, files in {Path.GetTempPath()}");
        Console.WriteLine();
        Console.WriteLine("| measure | result | goal | met |");
        Console.WriteLine("|---|---|---|---|");

        if (Runs("insert"))
        {
            InsertRows();
        }

        if (Runs("group-commit"))
        {
            GroupCommitRows();
        }

        if (Runs("owner"))
        {
            await OwnerRowsAsync();
        }

        if (Runs("recovery"))
        {
            var (journalOnly, fromSnapshot) = await RecoveryMillisecondsAsync();
            Row("recover 1M records from the journal", $"{journalOnly:F0} ms", "<= 1000 ms", journalOnly <= 1000);
            Row("recover 1M records from a snapshot", $"{fromSnapshot:F0} ms", "<= 1000 ms", fromSnapshot <= 1000);
        }

        if (Runs("big"))
        {
            await BigRowsAsync(entries ?? BigDefault);
        }

        if (Runs("snapshot"))
        {
            var (snapshot, before, during) = await SnapshotWhileWritingAsync();
            Row("snapshot 1M records while 2 writers run", $"{snapshot:F0} ms", "(reported)", null);
            Row("writers' rate during the snapshot", $"{during:N0} /s ({during / before:P0} of before)", "writers never stop", during > 0);
        }

        if (Runs("upgrade"))
        {
            _ = await UpgradeWorkload.RunAsync(1_000); // warm-up: both paths' code compiled and JSON metadata built
            var upgradeEntries = entries ?? Million;
            var (plain, upgrade) = await UpgradeWorkload.RunAsync(upgradeEntries);
            Row($"open {upgradeEntries:N0} JSON entries written at v1, plain recovery", $"{plain:F0} ms", "", null);
            Row($"open them with a v1 -> v2 step (upgrade, then a v2 snapshot)", $"{upgrade:F0} ms ({upgrade / plain:F2}x plain)", "<= 3x plain recovery", upgrade <= 3 * plain);
        }

        return 0;
    }

    private static void InsertRows()
    {
        var memory = TableWorkloads.Median5(() => InsertNanoseconds(durability: null));
        var none = TableWorkloads.Median5(() => InsertNanoseconds(FsyncPolicy.None));
        var everySecond = TableWorkloads.Median5(() => InsertNanoseconds(FsyncPolicy.EverySecond));
        Row("insert, in memory", $"{memory:F0} ns", "", null);
        Row("insert, durable, fsync None", $"{none:F0} ns ({none / memory:F2}x in memory)", "", null);
        Row("insert, durable, fsync EverySecond", $"{everySecond:F0} ns ({everySecond / memory:F2}x in memory)", "<= 3x in memory", everySecond <= 3 * memory);
    }

    /// <summary>One owner process writing under fsync Always: each write waiting for its own fsync, against writes
    /// acknowledged when durable with up to 1,024 in flight.</summary>
    private static async Task OwnerRowsAsync()
    {
        var one = WritersPerSecond(1).PerSecond;
        var inFlight = await OwnerInFlightPerSecondAsync(1024);
        Row("owner process, fsync Always, 1 write in flight", $"{one:N0} /s", "", null);
        Row("owner process, fsync Always, acknowledged when durable, 1,024 in flight", $"{inFlight:N0} /s ({inFlight / one:F1}x 1 in flight)", ">= 20x 1 in flight", inFlight >= 20 * one);
    }

    /// <summary>Durable acknowledgements per second of one process that inserts, keeps up to
    /// <paramref name="window"/> writes waiting for their fsync, and counts each once it is on disk.</summary>
    private static async Task<double> OwnerInFlightPerSecondAsync(int window)
    {
        using var scratch = new Scratch();
        await using var node = new Node();
        var acknowledged = 0L;
        var stop = false;
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Spawn(async _ =>
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions(), new DurabilityOptions(scratch.Path) { SnapshotAfterBytes = long.MaxValue, WritesWaitForFsync = false });
            var pending = new Queue<Task>();
            for (var key = 0L; !Volatile.Read(ref stop); key++)
            {
                table.Insert(key, key);
                pending.Enqueue(DurableTable.WhenDurableAsync(table).AsTask());
                if (pending.Count == window)
                {
                    await pending.Dequeue();
                    Volatile.Write(ref acknowledged, acknowledged + 1);
                }
            }

            while (pending.TryDequeue(out var write))
            {
                await write;
            }

            table.Delete();
            finished.SetResult();
        });

        await Task.Delay(TimeSpan.FromSeconds(1)); // warm-up, not counted
        var before = Volatile.Read(ref acknowledged);
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(Window);
        var done = Volatile.Read(ref acknowledged) - before;
        var elapsed = Stopwatch.GetElapsedTime(start);
        Volatile.Write(ref stop, true);
        await finished.Task;
        return done / elapsed.TotalSeconds;
    }

    private static void GroupCommitRows()
    {
        var one = WritersPerSecond(1);
        var eight = WritersPerSecond(8);
        var sixtyFour = WritersPerSecond(64);
        Row("insert, fsync Always, 1 writer", one.Describe(), "", null);
        Row("insert, fsync Always, 8 writers", eight.Describe(one.PerSecond), "", null);
        Row("insert, fsync Always, 64 writers", sixtyFour.Describe(one.PerSecond), ">= 40x 1 writer", sixtyFour.PerSecond >= 40 * one.PerSecond);
        if (Directory.Exists(MemoryFileSystem))
        {
            // The same code, where an fsync costs nothing: what is left is appending and waking the writers that waited.
            var ceiling = WritersPerSecond(64, MemoryFileSystem);
            Row($"the same 64 writers on tmpfs ({MemoryFileSystem}, an fsync costs nothing)", $"{ceiling.PerSecond:N0} /s ({ceiling.PerSecond / one.PerSecond:F1}x 1 writer on disk)", "(the ceiling)", null);
        }

        var oneAwaiting = AwaitingWritersPerSecondAsync(1).GetAwaiter().GetResult();
        var sixtyFourAwaiting = AwaitingWritersPerSecondAsync(64).GetAwaiter().GetResult();
        Row("insert then await WhenDurableAsync, fsync Always, 1 writer", oneAwaiting.Describe(), "", null);
        Row("insert then await WhenDurableAsync, fsync Always, 64 writers", sixtyFourAwaiting.Describe(oneAwaiting.PerSecond), ">= 40x 1 writer", sixtyFourAwaiting.PerSecond >= 40 * oneAwaiting.PerSecond);
        if (Directory.Exists(MemoryFileSystem))
        {
            var ceiling = AwaitingWritersPerSecondAsync(64, MemoryFileSystem).GetAwaiter().GetResult();
            Row($"the same 64 awaiting writers on tmpfs ({MemoryFileSystem})", $"{ceiling.PerSecond:N0} /s ({ceiling.PerSecond / oneAwaiting.PerSecond:F1}x 1 writer on disk)", "(the ceiling)", null);
        }
    }

    /// <summary>Durable writes per second under fsync Always with <paramref name="writers"/> asynchronous writers, each
    /// inserting and then awaiting <see cref="DurableTable.WhenDurableAsync"/> before its next insert (writes do not
    /// block their thread: <see cref="DurabilityOptions.WritesWaitForFsync"/> is off).</summary>
    private static async Task<WriterRate> AwaitingWritersPerSecondAsync(int writers, string? under = null)
    {
        using var scratch = new Scratch(under);
        var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, new DurabilityOptions(scratch.Path) { SnapshotAfterBytes = long.MaxValue, WritesWaitForFsync = false });
        var counts = new long[writers];
        var stop = false;
        var running = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (long key = w; !Volatile.Read(ref stop); key += writers)
            {
                table.Insert(key, key);
                await DurableTable.WhenDurableAsync(table);
                Volatile.Write(ref counts[w], counts[w] + 1);
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1)); // warm-up, not counted
        using var fsyncs = new FsyncTally();
        var before = counts.Sum();
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(Window);
        var done = counts.Sum() - before;
        var elapsed = Stopwatch.GetElapsedTime(start);
        var (recordsPerFsync, fsyncMicroseconds) = fsyncs.Averages();
        Volatile.Write(ref stop, true);
        await Task.WhenAll(running);
        table.Delete();
        return new(done / elapsed.TotalSeconds, recordsPerFsync, fsyncMicroseconds);
    }

    /// <summary>Durable writes per second, with the journal's fsyncs meanwhile: records each made durable, and how long
    /// each took.</summary>
    private readonly record struct WriterRate(double PerSecond, double RecordsPerFsync, double FsyncMicroseconds)
    {
        public string Describe(double? baseline = null) =>
            $"{PerSecond:N0} /s{(baseline is { } one ? $" ({PerSecond / one:F1}x 1 writer)" : "")}; {RecordsPerFsync:F1} records per fsync, fsync {FsyncMicroseconds:F0} µs";
    }

    /// <summary>Listens to the journal's fsync measures (<c>heirloom.journal.fsync.duration</c> and
    /// <c>heirloom.journal.group_commit.size</c>) from its creation until disposed.</summary>
    private sealed class FsyncTally : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _lock = new();
        private long _fsyncs;
        private long _records;
        private double _seconds;

        public FsyncTally()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name is "heirloom.journal.fsync.duration" or "heirloom.journal.group_commit.size")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, records, _, _) =>
            {
                lock (_lock)
                {
                    _fsyncs++;
                    _records += records;
                }
            });
            _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
            {
                lock (_lock)
                {
                    _seconds += seconds;
                }
            });
            _listener.Start();
        }

        public (double RecordsPerFsync, double FsyncMicroseconds) Averages()
        {
            lock (_lock)
            {
                return _fsyncs == 0 ? (0, 0) : ((double)_records / _fsyncs, _seconds / _fsyncs * 1e6);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    private const string MemoryFileSystem = "/dev/shm";

    private static void Row(string measure, string result, string goal, bool? met) =>
        Console.WriteLine($"| {measure} | {result} | {goal} | {(met is null ? "" : met.Value ? "yes" : "NO")} |");

    private static string RuntimeVersion() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    /// <summary>Nanoseconds per insert of fresh keys by one thread, in memory or durable with a policy.</summary>
    private static double InsertNanoseconds(FsyncPolicy? durability)
    {
        using var scratch = new Scratch();
        var node = new Node();
        var table = durability is { } policy
            ? DurableTable.Open<long, long>(node, new TableOptions(), new DurabilityOptions(scratch.Path) { Fsync = policy, SnapshotAfterBytes = long.MaxValue })
            : Table.New<long, long>(node, new TableOptions());
        var start = Stopwatch.GetTimestamp();
        for (long k = 0; k < Inserts; k++)
        {
            table.Insert(k, k);
        }

        var nanoseconds = Measure.NanosecondsPerOperation(start, Inserts);
        table.Delete();
        return nanoseconds;
    }

    /// <summary>Inserts per second under fsync Always with <paramref name="writers"/> threads, over a fixed window, in a
    /// directory of the system's temporary one or <paramref name="under"/>.</summary>
    private static WriterRate WritersPerSecond(int writers, string? under = null)
    {
        using var scratch = new Scratch(under);
        var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, new DurabilityOptions(scratch.Path) { SnapshotAfterBytes = long.MaxValue });
        var counts = new long[writers];
        var stop = false;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            // Writer w inserts w, w + writers, w + 2 writers...: distinct keys with distinct hash codes (keys that
            // differ only above bit 32 share Int64 hash codes, and their chains would grow with the run).
            for (long key = w; !Volatile.Read(ref stop); key += writers)
            {
                table.Insert(key, key);
                counts[w]++;
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        Thread.Sleep(TimeSpan.FromSeconds(1)); // warm-up, not counted
        using var fsyncs = new FsyncTally();
        var before = counts.Sum();
        var start = Stopwatch.GetTimestamp();
        Thread.Sleep(Window);
        var done = counts.Sum() - before;
        var elapsed = Stopwatch.GetElapsedTime(start);
        var (recordsPerFsync, fsyncMicroseconds) = fsyncs.Averages();
        Volatile.Write(ref stop, true);
        foreach (var thread in threads)
        {
            thread.Join();
        }

        table.Delete();
        return new(done / elapsed.TotalSeconds, recordsPerFsync, fsyncMicroseconds);
    }

    /// <summary>Milliseconds to open a durable table of a million records: from the journal alone, then from a
    /// snapshot (median of three opens each).</summary>
    private static async Task<(double JournalOnly, double FromSnapshot)> RecoveryMillisecondsAsync()
    {
        using var scratch = new Scratch();
        var durability = new DurabilityOptions(scratch.Path) { Fsync = FsyncPolicy.None, SnapshotAfterBytes = long.MaxValue };
        var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions(), durability);
        for (long k = 0; k < Million; k++)
        {
            table.Insert(k, k);
        }

        table.Delete();
        var journalOnly = MedianOpen();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions(), durability);
        await DurableTable.SnapshotAsync(reopened);
        reopened.Delete();
        return (journalOnly, MedianOpen());

        double MedianOpen()
        {
            var times = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var recovered = DurableTable.Open<long, long>(node, new TableOptions(), durability);
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (recovered.Count != Million)
                {
                    throw new InvalidOperationException($"Recovered {recovered.Count} records, not {Million}.");
                }

                recovered.Delete();
            }

            times.Sort();
            return times[1];
        }
    }

    /// <summary>A snapshot of a million records while two writers insert (fsync EverySecond): how long it takes, and
    /// the writers' rate before and during it.</summary>
    private static async Task<(double Milliseconds, double Before, double During)> SnapshotWhileWritingAsync()
    {
        using var scratch = new Scratch();
        var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Access = TableAccess.Public }, new DurabilityOptions(scratch.Path) { Fsync = FsyncPolicy.EverySecond, SnapshotAfterBytes = long.MaxValue });
        for (long k = 0; k < Million; k++)
        {
            table.Insert(k, k);
        }

        var written = 0L;
        var stop = false;
        var writers = Enumerable.Range(0, 2).Select(w => new Thread(() =>
        {
            var random = new Random(w);
            while (!Volatile.Read(ref stop))
            {
                table.Insert(random.NextInt64(2 * Million), w);
                Interlocked.Increment(ref written);
            }
        })).ToArray();
        foreach (var writer in writers)
        {
            writer.Start();
        }

        Thread.Sleep(TimeSpan.FromSeconds(1));
        var mark = Interlocked.Read(ref written);
        var start = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(1));
        var before = (Interlocked.Read(ref written) - mark) / Stopwatch.GetElapsedTime(start).TotalSeconds;

        mark = Interlocked.Read(ref written);
        start = Stopwatch.GetTimestamp();
        await DurableTable.SnapshotAsync(table);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var during = (Interlocked.Read(ref written) - mark) / elapsed.TotalSeconds;
        Volatile.Write(ref stop, true);
        foreach (var writer in writers)
        {
            writer.Join();
        }

        table.Delete();
        return (elapsed.TotalMilliseconds, before, during);
    }

    /// <summary>A temporary directory, deleted afterwards.</summary>
    private sealed class Scratch(string? under = null) : IDisposable
    {
        public string Path { get; } = under is null
            ? Directory.CreateTempSubdirectory("heirloom-bench-").FullName
            : Directory.CreateDirectory(System.IO.Path.Combine(under, $"heirloom-bench-{Guid.NewGuid():N}")).FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
