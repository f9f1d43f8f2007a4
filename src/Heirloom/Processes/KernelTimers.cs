using System.Collections.Concurrent;
using System.Diagnostics;

namespace Heirloom.Processes;

/// <summary>
/// A node's timers (Erlang's <c>erlang:send_after/3</c>, <c>start_timer/3</c>, <c>cancel_timer/1</c>,
/// <c>read_timer/1</c>), on the node's <see cref="Node.TimeProvider"/>. Each pending timer is one entry with one timer of
/// the provider, listed by its reference until it fires or is cancelled. A timer aimed at a pid watches that process, as
/// a monitor would, and is cancelled when it exits: as in OTP, a timer to a dead process is never delivered.
/// </summary>
/// <remarks>Each entry's state moves once, from Pending to Fired or Cancelled, by one compare-and-swap: whichever of the
/// provider's callback, a cancel and the target's exit gets there first decides, so a timer delivers at most once and
/// a cancel that reports time left means the message will never come.</remarks>
internal sealed class KernelTimers
{
    private const int Pending = 0;
    private const int Fired = 1;
    private const int Cancelled = 2;

    private readonly Node _node;
    private readonly ConcurrentDictionary<long, Entry> _pending = new();

    /// <summary>The timers of <paramref name="node"/>.</summary>
    public KernelTimers(Node node) => _node = node;

    /// <summary>How many timers are pending.</summary>
    public int Count => _pending.Count;

    /// <summary>Starts a timer that, after <paramref name="delay"/>, sends <paramref name="message"/> (wrapped in a
    /// <see cref="TimerFired"/> when <paramref name="wrap"/>) to <paramref name="target"/>, or to the process registered as
    /// <paramref name="name"/> at that moment.</summary>
    public TimerRef Start(Process? target, string? name, object message, TimeSpan delay, bool wrap)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckDelay(delay);
        var time = _node.TimeProvider;

        // A monitor reference's number, so the timer's watch on its target never collides with a monitor there.
        var watch = _node.NewMonitorRef();
        var entry = new Entry(this, watch, target, name, message, wrap, time.GetTimestamp() + _node.DurationToTimestamp(delay));
        var reference = new TimerRef(watch.Id);

        // Listed before it watches its target, so that the target's exit, which may come at any moment from then on,
        // finds it to unlist.
        _pending[watch.Id] = entry;
        if (target is not null && !target.AddWatcher(watch, entry))
        {
            // A timer to a dead process is cancelled at once: its reference is valid and reads as no timer.
            entry.TryEnd(Cancelled, unwatch: false);
            return reference;
        }

        entry.Arm(time, delay);
        return reference;
    }

    /// <summary>Cancels a timer: the time that was left, or null when it had fired, was cancelled, or is unknown.</summary>
    public TimeSpan? Cancel(TimerRef timer) =>
        _pending.TryGetValue(timer.Id, out var entry) && entry.TryEnd(Cancelled, unwatch: true) ? Left(entry) : null;

    /// <summary>The time left on a pending timer; null when it has fired, was cancelled, or is unknown.</summary>
    public TimeSpan? Read(TimerRef timer) =>
        _pending.TryGetValue(timer.Id, out var entry) && Volatile.Read(ref entry.State) == Pending ? Left(entry) : null;

    /// <summary>Cancels every pending timer: the node is stopping, and a timer aimed at a name would otherwise keep
    /// its provider's timer (and the node) alive until it fires.</summary>
    public void CancelAll()
    {
        foreach (var entry in _pending.Values)
        {
            entry.TryEnd(Cancelled, unwatch: true);
        }
    }

    /// <summary>Rejects a delay that is not a finite, non-negative duration a timer can count.</summary>
    public static void CheckDelay(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero || delay.TotalMilliseconds > uint.MaxValue - 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(delay), delay, $"A timer's delay must be between TimeSpan.Zero and {uint.MaxValue - 1} ms (about 49 days); pass TimeSpan.Zero to send at once.");
        }
    }

    private TimeSpan Left(Entry entry)
    {
        var time = _node.TimeProvider;
        var left = time.GetElapsedTime(time.GetTimestamp(), entry.Due);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>One timer: what to send where, when, and whether it still may.</summary>
    private sealed class Entry(KernelTimers timers, MonitorRef watch, Process? target, string? name, object message, bool wrap, long due) : IExitObserver
    {
        // Pending, Fired or Cancelled; moved once, by TryEnd.
        public int State;

        /// <summary>When the timer is due, a timestamp of the node's clock.</summary>
        public long Due => due;

        private ITimer? _timer;

        public void Arm(TimeProvider time, TimeSpan delay)
        {
            // The provider's timer must not keep the starting code's execution context (its AsyncLocals) alive.
            ITimer timer;
            using (ExecutionContext.SuppressFlow())
            {
                timer = time.CreateTimer(static entry => ((Entry)entry!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            // Armed only once stored, so that a timer firing at once (a zero delay) finds itself to dispose.
            Volatile.Write(ref _timer, timer);
            timer.Change(delay, Timeout.InfiniteTimeSpan);

            if (Volatile.Read(ref State) != Pending)
            {
                // Cancelled (or its target exited) before the timer was stored: nobody else will dispose it.
                timer.Dispose();
            }
        }

        /// <summary>Moves the timer from Pending to <paramref name="end"/>; false when it had left Pending already. The
        /// winner unlists the timer, releases its provider's timer and, when <paramref name="unwatch"/>, its watch on
        /// the target (a target's exit drops its watchers itself).</summary>
        public bool TryEnd(int end, bool unwatch)
        {
            Debug.Assert(end is Fired or Cancelled, "A timer ends fired or cancelled.");
            if (Interlocked.CompareExchange(ref State, end, Pending) != Pending)
            {
                return false;
            }

            timers._pending.TryRemove(watch.Id, out _);
            Volatile.Read(ref _timer)?.Dispose();
            if (unwatch)
            {
                target?.RemoveWatcher(watch);
            }

            return true;
        }

        private void OnDue()
        {
            if (!TryEnd(Fired, unwatch: false))
            {
                return;
            }

            // The watch goes after the delivery: a target exiting meanwhile either took the message into its mailbox
            // (where it dies with it) or ended nothing, since the timer had left Pending.
            var to = target ?? (name is not null && timers._node.Names.TryGetValue(name, out var holder) ? holder : null);
            to?.Deliver(wrap ? new TimerFired(new TimerRef(watch.Id), message) : message);
            target?.RemoveWatcher(watch);
        }

        /// <summary>The target exited: as in OTP, its timers are cancelled.</summary>
        void IExitObserver.OnExit(MonitorRef reference, Pid pid, ExitReason reason) => TryEnd(Cancelled, unwatch: false);
    }
}
