using System.Diagnostics;
using System.Globalization;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>
/// Heirloom's side of the process-scale measures, each the same work as its Erlang twin in bench/erlang/bench.escript:
/// N processes (a million unless the environment variable named sets N; the twin reads the same one), three runs on a
/// fresh node each, medians in milliseconds of the death-propagation time and of the time to build the processes.
/// </summary>
internal static class ProcessScaleWorkloads
{
    public const string ChainVariable = "CHAIN_LENGTH";
    public const string StarVariable = "STAR_SIZE";
    public const string MonitorsVariable = "MONITOR_COUNT";

    private const string Watching = "watching";

    /// <summary>N for a measure: the environment variable's value, or a million.</summary>
    public static int Size(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? int.Parse(value, CultureInfo.InvariantCulture) : 1_000_000;

    /// <summary>The sizes set away from their default, to print beside the table; empty when none is.</summary>
    public static IEnumerable<string> NonDefaultSizes() =>
        new[] { ChainVariable, StarVariable, MonitorsVariable }
            .Where(v => Size(v) != 1_000_000)
            .Select(v => string.Create(CultureInfo.InvariantCulture, $"{v}={Size(v)}"));

    public static Task<(double Kill, double Build)> ChainAsync() => MedianOfThreeAsync(node => ChainOnceAsync(node, Size(ChainVariable)));

    public static Task<(double Kill, double Build)> StarAsync() => MedianOfThreeAsync(node => StarOnceAsync(node, Size(StarVariable)));

    public static Task<(double Kill, double Build)> MonitorsAsync() => MedianOfThreeAsync(node => MonitorsOnceAsync(node, Size(MonitorsVariable)));

    private static async Task<(double Kill, double Build)> MedianOfThreeAsync(Func<Node, Task<(double Kill, double Build)>> run)
    {
        var runs = new List<(double Kill, double Build)>();
        for (var i = 0; i < 3; i++)
        {
            await using var node = new Node();
            runs.Add(await run(node));
        }

        return (runs.Select(r => r.Kill).Order().ElementAt(1), runs.Select(r => r.Build).Order().ElementAt(1));
    }

    /// <summary>
    /// A chain of <paramref name="length"/> processes, each spawn-linking the next and then waiting in a receive; the
    /// head is killed. The exit travels head to tail and a process of the chain dies only of its predecessor's exit
    /// signal, so the tail's Down (from a monitor set once the chain is built) means every process of the chain is
    /// dead: one monitor observes it without adding work per process. The count of processes is checked afterwards,
    /// untimed.
    /// </summary>
    private static async Task<(double Kill, double Build)> ChainOnceAsync(Node node, int length)
    {
        var baseline = node.ProcessCount;
        var times = await node.RunAsync(async ctx =>
        {
            var start = Stopwatch.GetTimestamp();
            var head = ctx.Spawn(ChainLink(length - 1, ctx.Self));
            var tail = (Pid)await ctx.ReceiveAsync();
            var build = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            await WaitQuietAsync();
            ctx.Monitor(tail);
            var kill = Stopwatch.GetTimestamp();
            ctx.Exit(head, ExitReason.Kill);
            var down = (Down)await ctx.ReceiveAsync();
            var killed = Stopwatch.GetElapsedTime(kill).TotalMilliseconds;
            return down.Pid == tail ? (killed, build) : throw new InvalidOperationException($"A Down from {down.Pid}, not the tail {tail}.");
        });

        // The measuring process itself is gone too once the count is back to what it was.
        await WaitCountAsync(node, baseline);
        return times;
    }

    private static Func<ProcessContext, Task> ChainLink(int remaining, Pid top) => async ctx =>
    {
        if (remaining == 0)
        {
            top.Send(ctx.Self);
        }
        else
        {
            ctx.SpawnLink(ChainLink(remaining - 1, top));
        }

        await ctx.ReceiveAsync();
    };

    /// <summary>
    /// One hub process spawn-linking <paramref name="size"/> processes that wait in a receive; the hub is killed. No
    /// process of the star dies last by construction, and a monitor on each would add a Down per process to the
    /// time, so "all dead" is the node's process count back to what it was before the hub was spawned.
    /// </summary>
    private static async Task<(double Kill, double Build)> StarOnceAsync(Node node, int size)
    {
        var baseline = node.ProcessCount;
        var built = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        var hub = node.Spawn(async ctx =>
        {
            Func<ProcessContext, Task> idle = static async c => await c.ReceiveAsync();
            for (var i = 0; i < size; i++)
            {
                ctx.SpawnLink(idle);
            }

            built.SetResult();
            await ctx.ReceiveAsync();
        });
        await built.Task;
        var build = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await WaitQuietAsync();
        var kill = Stopwatch.GetTimestamp();
        node.Exit(hub, ExitReason.Kill);
        await WaitCountAsync(node, baseline);
        return (Stopwatch.GetElapsedTime(kill).TotalMilliseconds, build);
    }

    /// <summary>
    /// One target monitored by <paramref name="count"/> processes, each waiting for its Down and exiting once it has
    /// it; the target is killed. "All Downs delivered" is every watcher gone: the node's process count back to what
    /// it was before the target was spawned. This form (many watchers of one process, each Down to a process of its
    /// own that must be woken to take it) rather than one process holding every monitor: see docs/benchmarks.md.
    /// </summary>
    private static async Task<(double Kill, double Build)> MonitorsOnceAsync(Node node, int count)
    {
        var baseline = node.ProcessCount;
        var target = node.Spawn(static async c => await c.ReceiveAsync());
        var start = Stopwatch.GetTimestamp();
        await node.RunAsync(async ctx =>
        {
            var top = ctx.Self;
            Func<ProcessContext, Task> watcher = async c =>
            {
                c.Monitor(target);
                top.Send(Watching);
                await c.ReceiveAsync();
            };
            for (var i = 0; i < count; i++)
            {
                ctx.Spawn(watcher);
            }

            for (var i = 0; i < count; i++)
            {
                await ctx.ReceiveAsync();
            }

            return 0;
        });
        var build = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await WaitQuietAsync();
        var kill = Stopwatch.GetTimestamp();
        node.Exit(target, ExitReason.Kill);
        await WaitCountAsync(node, baseline);
        return (Stopwatch.GetElapsedTime(kill).TotalMilliseconds, build);
    }

    /// <summary>Waits until the thread pool has no queued work, then 100 ms more, so that every process built is
    /// parked in its receive before the timed part starts (the twin waits for empty run queues the same way). Then
    /// collects once: the million processes just built are still young, and the first collections during the kill
    /// would otherwise promote them (about 400 MB, several hundred milliseconds of pauses), which is building's cost,
    /// not dying's; processes of a real service have lived through collections before they die. Erlang's per-process
    /// heaps have no such step.</summary>
    private static async Task WaitQuietAsync()
    {
        while (ThreadPool.PendingWorkItemCount > 0)
        {
            await Task.Delay(10);
        }

        await Task.Delay(100);
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Waits until the node has no more processes than <paramref name="baseline"/>. Polled every
    /// millisecond with a delay, not a busy loop, so that the poller does not take a core from the dying processes on
    /// a two-core machine (the twin sleeps 1 ms between polls the same way); 1 ms of resolution.</summary>
    private static async Task WaitCountAsync(Node node, int baseline)
    {
        while (node.ProcessCount > baseline)
        {
            await Task.Delay(1);
        }
    }
}
