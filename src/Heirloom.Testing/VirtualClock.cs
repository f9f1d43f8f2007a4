namespace Heirloom.Testing;

/// <summary>
/// Virtual time: a clock that stands still while work is ready and jumps to the next timer when none is. Its timers
/// never fire by themselves; <see cref="TakeDue"/> hands the due ones to the simulation, which queues their callbacks
/// as it queues any other work. Timers due at the same instant come out in the order they were set (a sequence number),
/// so the order is a function of the run alone.
/// </summary>
internal sealed class VirtualClock : TimeProvider
{
    /// <summary>The wall-clock time at virtual time zero: fixed, so that timestamps in a trace repeat.</summary>
    public static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SortedSet<VirtualTimer> _timers = new(VirtualTimer.ByDue);
    private readonly Lock _lock = new();
    private long _now;
    private long _nextSequence;

    /// <summary>Ticks (100 ns) since the start of the run.</summary>
    public long Now => Volatile.Read(ref _now);

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc/>
    public override long GetTimestamp() => Now;

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(Now);

    /// <inheritdoc/>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new VirtualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>The time of the next timer, if any is set.</summary>
    public bool TryNextDue(out long due)
    {
        lock (_lock)
        {
            due = _timers.Count > 0 ? _timers.Min!.Due : 0;
            return _timers.Count > 0;
        }
    }

    /// <summary>Moves the clock to <paramref name="time"/> (never back) and takes the timers due by then, in order;
    /// a periodic timer is set again for its next period.</summary>
    public void TakeDue(long time, List<VirtualTimer> due)
    {
        lock (_lock)
        {
            if (time > _now)
            {
                Volatile.Write(ref _now, time);
            }

            while (_timers.Count > 0 && _timers.Min!.Due <= _now)
            {
                var timer = _timers.Min;
                _timers.Remove(timer);
                due.Add(timer);
                if (timer.Period > 0)
                {
                    Set(timer, timer.Due + timer.Period, timer.Period);
                }
            }
        }
    }

    /// <summary>Sets or clears a timer; a due time of <see cref="Timeout.InfiniteTimeSpan"/> clears it.</summary>
    internal void Change(VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
            if (timer.Disposed || dueTime == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            var periodTicks = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            Set(timer, _now + Math.Max(0, dueTime.Ticks), periodTicks);
        }
    }

    private void Set(VirtualTimer timer, long due, long period)
    {
        timer.Due = due;
        timer.Period = period;
        timer.Sequence = _nextSequence++;
        _timers.Add(timer);
    }
}
