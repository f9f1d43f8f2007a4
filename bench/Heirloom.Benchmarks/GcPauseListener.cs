using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace Heirloom.Benchmarks;

/// <summary>
/// Every pause of the runtime, from the runtime's own GC events: a pause runs from GCSuspendEEBegin (the runtime starts
/// stopping managed threads) to GCRestartEEEnd (they run again), and the runtime raises that pair for every
/// suspension, whichever the generation and whether the collection is blocking or background (a background collection
/// suspends twice, briefly). Sampling <c>GC.GetGCMemoryInfo</c> instead would see only the last collection of each
/// kind when two come between samples. A pause so measured includes the time to stop the threads, which
/// <c>GC.GetTotalPauseDuration</c> leaves out for a blocking collection (its pause starts with the collection itself).
/// The events reach an in-process listener through EventPipe, a little after
/// they happen and stamped with the time they happened, so a window is read once its events have arrived
/// (<see cref="WaitForAsync"/>).
/// </summary>
internal sealed class GcPauseListener : EventListener
{
    private const int RestartEndEventId = 3;
    private const int SuspendBeginEventId = 9;

    private readonly Lock _gate = new();
    private readonly List<(DateTime Start, TimeSpan Length)> _pauses = [];
    private DateTime? _suspendedAt;

    /// <summary>The pauses that started inside the window, in order.</summary>
    public IReadOnlyList<TimeSpan> PausesBetween(DateTime from, DateTime to)
    {
        lock (_gate)
        {
            return [.. _pauses.Where(p => p.Start >= from && p.Start <= to).Select(p => p.Length)];
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> pauses of the window have arrived, or five seconds.</summary>
    public async Task WaitForAsync(DateTime from, DateTime to, int count)
    {
        var waited = Stopwatch.StartNew();
        while (PausesBetween(from, to).Count < count && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            // Keyword 0x1 is the runtime's GC keyword; the suspension events are at level Informational.
            EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_gate)
        {
            if (e.EventId == SuspendBeginEventId)
            {
                _suspendedAt = e.TimeStamp.ToUniversalTime();
            }
            else if (e.EventId == RestartEndEventId && _suspendedAt is { } start)
            {
                _pauses.Add((start, e.TimeStamp.ToUniversalTime() - start));
                _suspendedAt = null;
            }
        }
    }
}
