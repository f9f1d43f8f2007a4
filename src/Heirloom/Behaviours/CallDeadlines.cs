using Stopwatch = System.Diagnostics.Stopwatch;

namespace Heirloom.Behaviours;

/// <summary>
/// The timeouts of calls from outside processes: every pending call with a deadline is in one of a few lists (one
/// per processor, so callers on different cores rarely share a lock), and one timer, shared by all of them, fires at
/// the earliest deadline and ends the calls whose deadline has passed. A call adds and removes itself in O(1) with no
/// allocation, and the timer is re-armed only when a call's deadline comes before the one it is armed for: back-to-back
/// calls with the same timeout touch the timer queue about once per timeout, as a process's receive timer does.
/// </summary>
/// <remarks>Timeouts never end early: the timer may fire early (the timer queue counts whole milliseconds), and then
/// finds nothing due and re-arms for what is left. A scan costs one look at each pending call, and runs once per
/// earliest deadline; pending calls are as many as callers waiting at once.</remarks>
internal static class CallDeadlines
{
    private static readonly Shard[] s_shards = CreateShards();

    // Guards arming the timer; s_dueAt is when it fires (a Stopwatch timestamp), long.MaxValue while disarmed.
    private static readonly object s_timerLock = new();
    private static Timer? s_timer;
    private static long s_dueAt = long.MaxValue;

    /// <summary>Lists <paramref name="call"/> until its <see cref="OutsideCall.Deadline"/>, or until removed.</summary>
    public static void Add(OutsideCall call)
    {
        var index = Thread.GetCurrentProcessorId() & (s_shards.Length - 1);
        var shard = s_shards[index];
        lock (shard)
        {
            call.DeadlineShard = index;
            call.DeadlinePrevious = null;
            call.DeadlineNext = shard.Head;
            if (shard.Head is { } head)
            {
                head.DeadlinePrevious = call;
            }

            shard.Head = call;
        }

        // Read after the call is listed: a scan that set s_dueAt to MaxValue before this read either saw the call or
        // is followed by this arming (the shard's lock orders the two).
        if (Volatile.Read(ref s_dueAt) > call.Deadline)
        {
            Arm(call.Deadline);
        }
    }

    /// <summary>Unlists <paramref name="call"/>; nothing when it is not listed (it expired, or never had a deadline).</summary>
    public static void Remove(OutsideCall call)
    {
        var index = Volatile.Read(ref call.DeadlineShard);
        if (index < 0)
        {
            return;
        }

        var shard = s_shards[index];
        lock (shard)
        {
            // A scan may have taken it out meanwhile; a slot is listed at most once per call, and by this call only.
            if (call.DeadlineShard == index)
            {
                Unlink(shard, call);
            }
        }
    }

    private static void Unlink(Shard shard, OutsideCall call)
    {
        if (call.DeadlinePrevious is { } previous)
        {
            previous.DeadlineNext = call.DeadlineNext;
        }
        else
        {
            shard.Head = call.DeadlineNext;
        }

        if (call.DeadlineNext is { } next)
        {
            next.DeadlinePrevious = call.DeadlinePrevious;
        }

        call.DeadlineNext = call.DeadlinePrevious = null;
        Volatile.Write(ref call.DeadlineShard, -1);
    }

    private static void Arm(long deadline)
    {
        lock (s_timerLock)
        {
            if (s_dueAt <= deadline)
            {
                return;
            }

            s_dueAt = deadline;
            var milliseconds = Math.Ceiling((deadline - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency);
            (s_timer ??= CreateTimer()).Change((long)Math.Clamp(milliseconds, 0, int.MaxValue - 1), Timeout.Infinite);
        }
    }

    // The timer must not capture the first caller's execution context (its AsyncLocals, its activity) for ever.
    private static Timer CreateTimer()
    {
        using (ExecutionContext.SuppressFlow())
        {
            return new Timer(static _ => Expire(), null, Timeout.Infinite, Timeout.Infinite);
        }
    }

    /// <summary>Ends every call whose deadline has passed, then re-arms the timer for the earliest one left.</summary>
    private static void Expire()
    {
        // Disarmed first: a call listed after its shard is scanned below arms the timer itself.
        Interlocked.Exchange(ref s_dueAt, long.MaxValue);
        var now = Stopwatch.GetTimestamp();
        var earliest = long.MaxValue;
        List<CallFrom>? expired = null;
        foreach (var shard in s_shards)
        {
            lock (shard)
            {
                for (var call = shard.Head; call is not null;)
                {
                    var next = call.DeadlineNext;
                    if (call.Deadline <= now)
                    {
                        // The call's CallFrom, not its slot, is what is told: the slot may serve another call by then.
                        (expired ??= []).Add(call.From);
                        Unlink(shard, call);
                    }
                    else
                    {
                        earliest = Math.Min(earliest, call.Deadline);
                    }

                    call = next;
                }
            }
        }

        // Outside the shards' locks: a give-up completes its call, which unlists nothing more (it is out already).
        expired?.ForEach(static from => from.DeadlinePassed());
        if (earliest != long.MaxValue)
        {
            Arm(earliest);
        }
    }

    private static Shard[] CreateShards()
    {
        var count = (int)Math.Min(64, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount));
        return [.. Enumerable.Range(0, count).Select(_ => new Shard())];
    }

    /// <summary>One list of pending calls, and the lock guarding it.</summary>
    private sealed class Shard
    {
        public OutsideCall? Head;
    }
}
