using System.Text.RegularExpressions;
using Heirloom.Testing;

namespace Heirloom.Tests.Architecture;

/// <summary>
/// Work has one seam: everything the core library queues (process runs, late continuations, outside calls' completions,
/// the journal's flush loop, snapshots) goes through the node's scheduler (<c>NodeScheduler</c>), so that a simulated
/// node runs all of it on its own thread in an order its seed chooses. This scan of src/Heirloom fails on a new direct
/// use of the thread pool, of <c>Task.Run</c> / <c>Task.Factory.StartNew</c> / <c>Task.Yield</c>, or of a task whose
/// continuations the pool runs (<c>RunContinuationsAsynchronously</c>), or of a random stream not the node's.
/// </summary>
public sealed partial class SchedulingSeamTests
{
    // The only direct uses, each with its reason. An entry that no longer matches fails the test too.
    private static readonly (string File, string Use, string Reason)[] s_allowed =
    [
        ("src/Heirloom/Processes/NodeScheduler.cs", "ThreadPool.UnsafeQueueUserWorkItem", "the default scheduler is the thread pool"),
        ("src/Heirloom/Processes/NodeScheduler.cs", "Task.Run", "the default scheduler's blocking work"),
        ("src/Heirloom/Processes/NodeScheduler.cs", "Random.Shared", "the default scheduler's random draws"),
        ("src/Heirloom/Processes/NodeScheduler.cs", "RunContinuationsAsynchronously", "the default scheduler's completions, whose continuations the pool runs"),
        ("src/Heirloom/Processes/Process.ReceiveSource.cs", "Task.Factory.StartNew", "runs an awaiter's continuation on the TaskScheduler that awaiter captured: its choice, not the node's queue"),
        ("src/Heirloom/Persistence/TableFileReader.cs", "Task.Factory.StartNew", "a hashing thread the reader waits for before returning: its result does not depend on timing"),
    ];

    [Fact]
    public void The_core_queues_work_only_through_the_nodes_scheduler()
    {
        var root = ReadmeSnippets.RepositoryRoot();
        var violations = new List<string>();
        var allowedSeen = new HashSet<(string, string)>();
        foreach (var path in Directory.EnumerateFiles(Path.Combine(root, "src", "Heirloom"), "*.cs", SearchOption.AllDirectories))
        {
            var file = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (line, use) in QueueUses(File.ReadAllLines(path)))
            {
                if (s_allowed.Any(a => a.File == file && a.Use == use))
                {
                    allowedSeen.Add((file, use));
                }
                else
                {
                    violations.Add($"{file}:{line}: {use} (queue through the node's Scheduler instead)");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.Equal(s_allowed.Select(a => (a.File, a.Use)).ToHashSet(), allowedSeen);
    }

    [Theory]
    [InlineData("ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);", "ThreadPool.UnsafeQueueUserWorkItem")]
    [InlineData("ThreadPool.QueueUserWorkItem(_ => Go());", "ThreadPool.QueueUserWorkItem")]
    [InlineData("_ = Task.Run(() => Snapshot());", "Task.Run")]
    [InlineData("Task.Factory.StartNew(work);", "Task.Factory.StartNew")]
    [InlineData("ThreadPool.UnsafeRegisterWaitForSingleObject(h, cb, null, -1, true);", "ThreadPool.UnsafeRegisterWaitForSingleObject")]
    [InlineData("var jitter = Random.Shared.NextDouble();", "Random.Shared")]
    [InlineData("var random = new Random();", "new Random(")]
    [InlineData("var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);", "RunContinuationsAsynchronously")]
    public void The_scan_finds_each_kind_of_direct_queueing(string code, string use) =>
        Assert.Equal([use], QueueUses([code]).Select(u => u.Use));

    [Theory]
    [InlineData("node.Scheduler.Queue(this, preferLocal: true);")]
    [InlineData("return await journal.Scheduler.Run(TakeSnapshot, cancellation);")]
    [InlineData("// Task.Run in a comment")]
    [InlineData("private static async Task RunAsync(ProcessContext ctx)")]
    public void The_scan_lets_the_seam_through(string code) => Assert.Empty(QueueUses([code]));

    private static IEnumerable<(int Line, string Use)> QueueUses(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var code = LineComment().Replace(lines[i], string.Empty);
            foreach (Match match in Forbidden().Matches(code))
            {
                yield return (i + 1, match.Value);
            }
        }
    }

    [GeneratedRegex(@"//.*$")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\bThreadPool\.\w+|\bTask\.Run\b|\bTask\.Factory\.StartNew\b|\bRunContinuationsAsynchronously\b|\bTask\.Yield\b|\bRandom\.Shared\b|\bnew Random\(")]
    private static partial Regex Forbidden();
}
