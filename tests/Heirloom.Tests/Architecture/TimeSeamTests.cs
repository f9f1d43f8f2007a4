using System.Text.RegularExpressions;
using Heirloom.Testing;

namespace Heirloom.Tests.Architecture;

/// <summary>
/// Time has one seam: every timeout, timer and measured duration in the libraries goes through the node's
/// <see cref="TimeProvider"/> (or a kernel timer on it), so that a node on a virtual clock runs its real code on virtual
/// time. This scan of src/ fails on a new direct use of the machine's clock: <c>Stopwatch</c>, <c>DateTime.UtcNow</c>,
/// <c>Environment.TickCount</c>, <c>Thread.Sleep</c>, <c>new Timer(...)</c>, <c>CancelAfter</c>, or a
/// <c>Task.Delay</c>, <c>WaitAsync</c>, <c>PeriodicTimer</c> or <c>CancellationTokenSource</c> with a delay but no
/// clock. A clock argument is recognised by its name (<c>time</c>, <c>Time</c>, <c>TimeProvider</c>, ...), the
/// convention the sources follow.
/// </summary>
public sealed partial class TimeSeamTests
{
    // The only direct uses of the machine's clock, each with the reason it is not the node's time. An entry that no
    // longer matches anything fails the test too, so the list never outlives its reasons.
    private static readonly (string File, string Use, string Reason)[] s_allowed =
    [
        ("src/Heirloom/Processes/ProcessThread.cs", "Environment.TickCount", "a spin bounded in real time while another OS thread leaves a process: about threads, not the node's time"),
        ("src/Heirloom.Postgres.Testing/ThrowawayPostgres.cs", "Task.Delay(", "a real PostgreSQL server's downtime, in real time by nature"),
        ("src/Heirloom.Dashboard/HeirloomDashboardEndpoints.cs", "Task.Delay(", "a web page's refresh pacing, in the browser's real time"),
    ];

    [Fact]
    public void The_libraries_use_no_clock_but_the_nodes()
    {
        var root = ReadmeSnippets.RepositoryRoot();
        var violations = new List<string>();
        var allowedSeen = new HashSet<(string, string)>();
        foreach (var path in SourceFiles(root))
        {
            var file = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            foreach (var (line, use) in ClockUses(File.ReadAllLines(path)))
            {
                if (s_allowed.Any(a => a.File == file && a.Use == use))
                {
                    allowedSeen.Add((file, use));
                }
                else
                {
                    violations.Add($"{file}:{line}: {use} (use the node's TimeProvider or a kernel timer)");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.Equal(s_allowed.Select(a => (a.File, a.Use)).ToHashSet(), allowedSeen);
    }

    [Theory]
    [InlineData("var t = Stopwatch.GetTimestamp();", "Stopwatch")]
    [InlineData("var now = DateTime.UtcNow;", "DateTime.UtcNow")]
    [InlineData("at = DateTimeOffset.UtcNow,", "DateTimeOffset.UtcNow")]
    [InlineData("await Task.Delay(100);", "Task.Delay(")]
    [InlineData("await Task.Delay(delay, token);", "Task.Delay(")]
    [InlineData("await done.WaitAsync(TimeSpan.FromSeconds(1));", "WaitAsync(")]
    [InlineData("var t = new Timer(_ => Tick(), null, 0, 1000);", "new Timer(")]
    [InlineData("using var t = new PeriodicTimer(interval);", "new PeriodicTimer(")]
    [InlineData("cts.CancelAfter(timeout);", "CancelAfter(")]
    [InlineData("using var cts = new CancellationTokenSource(timeout);", "new CancellationTokenSource(")]
    [InlineData("Thread.Sleep(10);", "Thread.Sleep")]
    public void The_scan_finds_each_kind_of_direct_clock_use(string code, string use) =>
        Assert.Equal([use], ClockUses([code]).Select(u => u.Use));

    [Theory]
    [InlineData("await Task.Delay(delay, time, token);")]
    [InlineData("await Task.Delay(remaining, _timeProvider);")]
    [InlineData("await done.WaitAsync(limit, _cluster.Time, _stop.Token);")]
    [InlineData("await semaphore.WaitAsync(stopping);")]
    [InlineData("await started.Task.WaitAsync(options.StartTimeout, node.TimeProvider);")]
    [InlineData("using var t = new PeriodicTimer(interval, Time);")]
    [InlineData("using var cts = new CancellationTokenSource();")]
    [InlineData("using var cts = new CancellationTokenSource(limit, _cluster.Time);")]
    [InlineData("// Stopwatch in a comment, DateTime.UtcNow too")]
    public void The_scan_lets_the_nodes_clock_through(string code) => Assert.Empty(ClockUses([code]));

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The direct clock uses in <paramref name="lines"/>, by line number (from 1); comments are skipped.</summary>
    private static IEnumerable<(int Line, string Use)> ClockUses(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var code = LineComment().Replace(lines[i], string.Empty);
            foreach (Match match in Forbidden().Matches(code))
            {
                yield return (i + 1, match.Value);
            }

            foreach (Match match in NeedsClock().Matches(code))
            {
                var arguments = Arguments(code, match.Index + match.Length);
                if (!PassesClock(match.Value, arguments))
                {
                    yield return (i + 1, match.Value);
                }
            }
        }
    }

    /// <summary>Whether a call that can wait passes a clock: an argument after the first named as one; for
    /// <c>WaitAsync</c> a lone cancellation token also passes (it waits for no time); a token source with no
    /// argument has no delay.</summary>
    private static bool PassesClock(string call, IReadOnlyList<string> arguments)
    {
        if (arguments.Skip(1).Any(a => ClockName().IsMatch(a)))
        {
            return true;
        }

        return call switch
        {
            "WaitAsync(" => arguments.Count == 1 && TokenName().IsMatch(arguments[0]),
            "new CancellationTokenSource(" => arguments.Count == 0,
            _ => false,
        };
    }

    /// <summary>The top-level arguments of the call whose '(' ends just before <paramref name="start"/>, as far as
    /// the line goes.</summary>
    private static List<string> Arguments(string code, int start)
    {
        var arguments = new List<string>();
        var depth = 0;
        var current = start;
        for (var i = start; i < code.Length; i++)
        {
            switch (code[i])
            {
                case '(' or '[' or '{':
                    depth++;
                    break;
                case ')' or ']' or '}' when depth > 0:
                    depth--;
                    break;
                case ')':
                    AddArgument(code[current..i]);
                    return arguments;
                case ',' when depth == 0:
                    AddArgument(code[current..i]);
                    current = i + 1;
                    break;
            }
        }

        AddArgument(code[current..]);
        return arguments;

        void AddArgument(string argument)
        {
            if (argument.Trim().Length > 0)
            {
                arguments.Add(argument.Trim());
            }
        }
    }

    [GeneratedRegex(@"//.*$")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\bStopwatch\b|\bDateTime(Offset)?\.(Utc)?Now\b|\bEnvironment\.TickCount|\bThread\.Sleep\b|\bnew (System\.Threading\.)?Timer\(|\bCancelAfter\(")]
    private static partial Regex Forbidden();

    [GeneratedRegex(@"\bTask\.Delay\(|\bWaitAsync\(|\bnew PeriodicTimer\(|\bnew CancellationTokenSource\(")]
    private static partial Regex NeedsClock();

    // A clock argument: time, Time, _time, TimeProvider, node.TimeProvider, _cluster.Time, _timeProvider, ...
    [GeneratedRegex(@"^([\w.]*\.)?_?([Tt]ime|[Tt]imeProvider)$")]
    private static partial Regex ClockName();

    [GeneratedRegex(@"([Tt]oken|[Cc]ancellation|[Ss]topping|aborted)$")]
    private static partial Regex TokenName();
}
