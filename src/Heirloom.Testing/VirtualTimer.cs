namespace Heirloom.Testing;

/// <summary>One timer of a <see cref="VirtualClock"/>: fires when the simulation's clock reaches <see cref="Due"/>.</summary>
internal sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
{
    /// <summary>Orders timers by due time, then by when they were set.</summary>
    public static readonly IComparer<VirtualTimer> ByDue = Comparer<VirtualTimer>.Create(static (a, b) =>
        a.Due != b.Due ? a.Due.CompareTo(b.Due) : a.Sequence.CompareTo(b.Sequence));

    public long Due { get; set; }

    public long Period { get; set; }

    public long Sequence { get; set; }

    public bool Disposed { get; private set; }

    /// <summary>Runs the callback, unless the timer was disposed after it was taken as due.</summary>
    public void Fire()
    {
        if (!Disposed)
        {
            callback(state);
        }
    }

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        if (Disposed)
        {
            return false;
        }

        clock.Change(this, dueTime, period);
        return true;
    }

    public void Dispose()
    {
        Disposed = true;
        clock.Change(this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
