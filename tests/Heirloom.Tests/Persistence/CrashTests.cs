using System.Diagnostics;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Persistence;

/// <summary>
/// Kills a child OS process (tests/Heirloom.CrashWriter) with SIGKILL at random moments while it writes batches to a
/// durable table with fsync Always; after each kill, recovery must succeed, hold every acknowledged batch, and hold
/// no batch in part. Every other run, the table is a TableManager's, written by a supervised worker while the child
/// kills its worker and manager every few milliseconds, so the OS kill also meets hand-offs and restarts.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 100;
    private readonly TemporaryDirectory _temporary = new("crash");

    public void Dispose() => _temporary.Dispose();

    [Fact]
    public async Task Sigkill_at_random_moments_loses_no_acknowledged_write_and_half_applies_nothing()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var writer = WriterPath();
        long acknowledged = -1;
        for (var kill = 0; kill < Kills; kill++)
        {
            using var child = System.Diagnostics.Process.Start(new ProcessStartInfo("dotnet", kill % 2 == 0 ? [writer, _temporary.Path] : [writer, _temporary.Path, "--managed"]) { RedirectStandardOutput = true })!;
            var pid = child.Id;
            var lines = 0;
            var wanted = random.Next(1, 40);
            while (lines < wanted && await child.StandardOutput.ReadLineAsync() is { } line)
            {
                acknowledged = Math.Max(acknowledged, long.Parse(line));
                lines++;
            }

            Assert.True(lines == wanted, "the writer stopped before it was killed");
            await Task.Delay(random.Next(0, 5));
            child.Kill(); // SIGKILL on Linux
            await WaitUntilDead(pid);

            await using var node = new Node();
            var table = OpenOrExplain(node, pid);
            var count = table.Count;
            Assert.True(count % 3 == 0, $"kill {kill}: {count} records is not whole batches");
            Assert.True(count / 3 > acknowledged, $"kill {kill}: batch {acknowledged} was acknowledged but only {count / 3} batches recovered");
            for (long k = 0; k < count; k++)
            {
                Assert.True(table.TryGetValue(k, out var value) && value == k, $"kill {kill}: record {k} missing or wrong");
            }

            table.Delete();
        }

        var snapshots = Directory.GetFiles(_temporary.Path, "snapshot-*.htab").Length;
        Assert.True(snapshots > 0, "the writer never took a snapshot, so kills never met one");
        output.WriteLine($"{Kills} kills, {acknowledged + 1} batches acknowledged, {snapshots} snapshots kept");
    }

    /// <summary>Opens the table the killed writer left; when its directory is still locked, fails saying who holds the
    /// lock file and what state the killed process is in, since the lock should have gone with the process.</summary>
    private Table<long, long> OpenOrExplain(Node node, int killed)
    {
        try
        {
            return DurableTable.Open<long, long>(node, new TableOptions(), new DurabilityOptions(_temporary.Path));
        }
        catch (IOException e)
        {
            var lockFile = Path.Combine(_temporary.Path, "lock");
            var holders = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => int.TryParse(p, out _))
                .Where(p => HasOpen(p!, lockFile)).ToList();
            var state = File.Exists($"/proc/{killed}/stat") ? File.ReadAllText($"/proc/{killed}/stat") : "reaped";
            throw new InvalidOperationException(
                $"the killed writer's directory is still locked: {e.Message}; processes with the lock file open: [{string.Join(", ", holders)}] " +
                $"(this test process is {Environment.ProcessId}); the killed process {killed}: {state}", e);
        }

        static bool HasOpen(string pid, string file)
        {
            try
            {
                return Directory.GetFiles($"/proc/{pid}/fd").Any(fd => new FileInfo(fd).LinkTarget == file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    /// <summary>Waits until every thread of the killed process is gone, reading /proc: the test host does not always
    /// observe a child's exit through Process. The main thread shows as a zombie while others (one in an fsync, say)
    /// still exit and hold the process's files, so a zombie counts as dead only once it is its last thread.</summary>
    private static async Task WaitUntilDead(int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (IsRunning(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"process {pid} did not die");
            await Task.Delay(1);
        }

        static bool IsRunning(int pid)
        {
            try
            {
                var zombie = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[^1].StartsWith('Z');
                return !zombie || Directory.GetDirectories($"/proc/{pid}/task").Length > 1;
            }
            catch (IOException)
            {
                return false; // reaped: gone
            }
        }
    }

    private static string WriterPath()
    {
        // The test's own output is .../tests/Heirloom.Tests/bin/<configuration>/net10.0/; the writer is built beside it.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = testOutput.Parent!.Name;
        var tests = testOutput.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(tests, "Heirloom.CrashWriter", "bin", configuration, testOutput.Name, "Heirloom.CrashWriter.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build tests/Heirloom.CrashWriter first (dotnet build Heirloom.sln); looked for {path}.");
    }
}
