using System.Diagnostics;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>
/// Big durable tables: a table of ten million <c>long</c> keys and 16-64 character values, on each storage. How long
/// opening it takes from its snapshot, and one writer's latency per write while a snapshot of it is written. Usage:
/// <c>durability big [entries=N]</c> (default 10,000,000).
/// </summary>
internal static partial class DurabilityWorkloads
{
    private const int BigDefault = 10_000_000;

    private static async Task BigRowsAsync(int entries)
    {
        foreach (var storage in new[] { TableStorage.OffHeap, TableStorage.Heap })
        {
            using var scratch = new Scratch();
            var durability = new DurabilityOptions(scratch.Path) { Fsync = FsyncPolicy.EverySecond, SnapshotAfterBytes = long.MaxValue, Storage = storage };
            await using var node = new Node();
            var fill = InChild(Fill, scratch.Path, storage, entries);
            var recovery = MedianRecoveryMilliseconds(scratch.Path, storage, entries);
            var (snapshot, writes, p999, worst) = await SnapshotLatencyAsync(node, durability, entries);
            var name = storage == TableStorage.OffHeap ? "off-heap" : "in-heap";
            Row($"{entries:N0} entries {name}: fill and two snapshots", $"{fill:F0} ms", "(reported)", null);
            Row($"{entries:N0} entries {name}: open from its snapshot", $"{recovery:F0} ms", storage == TableStorage.OffHeap ? "<= 1500 ms" : "(reported)", storage == TableStorage.OffHeap ? recovery <= 1500 : null);
            Row($"{entries:N0} entries {name}: one writer's latency while a {snapshot:F0} ms snapshot runs ({writes:N0} writes)", $"p99.9 {p999:F2} ms, max {worst:F2} ms", storage == TableStorage.OffHeap ? "p99.9 <= 10 ms" : "(reported)", storage == TableStorage.OffHeap ? p999 <= 10 : null);
        }
    }

    private static double FillAndSnapshot(Node node, DurabilityOptions durability, int entries)
    {
        var start = Stopwatch.GetTimestamp();
        var table = DurableTable.Open<long, string>(node, new TableOptions(), durability);
        var values = new BigValues(1);
        for (long key = 0; key < entries; key++)
        {
            table.Insert(key, values.Next());
        }

        // Two snapshots, as a table that has run for a while has: the second compacts away the journal the first
        // covers, so opening reads a snapshot and a short journal tail, not every record ever written.
        DurableTable.SnapshotAsync(table).GetAwaiter().GetResult();
        DurableTable.SnapshotAsync(table).GetAwaiter().GetResult();
        table.Delete();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>The median of three opens, each in a new process: recovery happens in a process that has just started
    /// (after a crash or a deployment), with a fresh native heap. Opened again in the process that deleted the table
    /// before, the C allocator first sorts the ten million records freed meanwhile, and an open takes two to three times
    /// as long.</summary>
    private static double MedianRecoveryMilliseconds(string directory, TableStorage storage, int entries)
    {
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            times.Add(InChild(Open, directory, storage, entries));
        }

        times.Sort();
        return times[1];
    }

    /// <summary>One thread replaces random values while a snapshot is written; each write's latency is kept.</summary>
    private static async Task<(double Snapshot, int Writes, double P999, double Worst)> SnapshotLatencyAsync(Node node, DurabilityOptions durability, int entries)
    {
        var table = DurableTable.Open<long, string>(node, new TableOptions { Access = TableAccess.Public }, durability);
        var latencies = new List<long>(1 << 20);
        var stop = false;
        var writer = new Thread(() =>
        {
            var values = new BigValues(2);
            var random = new Random(3);
            while (!Volatile.Read(ref stop))
            {
                var key = random.NextInt64(entries);
                var value = values.Next();
                var start = Stopwatch.GetTimestamp();
                table.Insert(key, value);
                latencies.Add(Stopwatch.GetTimestamp() - start);
            }
        });
        writer.Start();
        var snapshotStart = Stopwatch.GetTimestamp();
        await DurableTable.SnapshotAsync(table);
        var snapshot = Stopwatch.GetElapsedTime(snapshotStart).TotalMilliseconds;
        Volatile.Write(ref stop, true);
        writer.Join();
        table.Delete();

        latencies.Sort();
        double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        return (snapshot, latencies.Count, Milliseconds(latencies[(int)(latencies.Count * 0.999)]), Milliseconds(latencies[^1]));
    }

    // The steps run in a child process of their own (`durability big-step STEP DIR STORAGE ENTRIES`): the fill too, so
    // that the records its table frees are not being freed in this process while a child opens the table.
    private const string BigStep = "big-step";
    private const string Fill = "fill";
    private const string Open = "open";

    /// <summary>Runs one step (<see cref="Fill"/> or <see cref="Open"/>) in a child process and returns the milliseconds
    /// it measured.</summary>
    private static double InChild(string step, string directory, TableStorage storage, int entries)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };

        // Run as `dotnet Heirloom.Benchmarks.dll`, the executable is the host, which needs the assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(DurabilityWorkloads).Assembly.Location);
        }

        foreach (var argument in (string[])["durability", BigStep, step, directory, storage.ToString(), entries.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return child.ExitCode == 0 && double.TryParse(line, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            ? milliseconds
            : throw new InvalidOperationException($"The child running step '{step}' failed with exit code {child.ExitCode}: {output}");
    }

    /// <summary>In a child: fills and snapshots the table, or opens it once and checks its count; prints the
    /// milliseconds the step took.</summary>
    private static async Task<int> RunStepAsync(string step, string directory, TableStorage storage, int entries)
    {
        var durability = new DurabilityOptions(directory) { Fsync = FsyncPolicy.EverySecond, SnapshotAfterBytes = long.MaxValue, Storage = storage };
        await using var node = new Node();
        double milliseconds;
        if (step == Fill)
        {
            milliseconds = FillAndSnapshot(node, durability, entries);
        }
        else
        {
            var start = Stopwatch.GetTimestamp();
            var table = DurableTable.Open<long, string>(node, new TableOptions(), durability);
            milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (table.Count != entries)
            {
                throw new InvalidOperationException($"Recovered {table.Count:N0} entries, not {entries:N0}.");
            }

            // On the error stream, for whoever runs the step by hand: the last line out is the time.
            var memory = table.GetInfo()?.Memory ?? 0;
            Console.Error.WriteLine($"opened {entries:N0} entries: {memory:N0} bytes, {(double)memory / entries:F1} per entry");
        }

        Console.WriteLine(milliseconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    }

    /// <summary>Values of 16 to 64 characters from a seeded generator.</summary>
    private sealed class BigValues(int seed)
    {
        private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        private readonly Random _random = new(seed);

        public string Next() => string.Create(_random.Next(16, 65), _random, static (span, random) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[random.Next(Alphabet.Length)];
            }
        });
    }
}
