using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// The timeouts of calls from outside processes to one node's servers, on the node's <see cref="TimeProvider"/>: every pending call with a deadline is in one of a few lists (one
/// per processor, so callers on different cores rarely share a lock), and one timer, shared by all of them, fires at
/// the earliest deadline and ends the calls whose deadline has passed. A call adds and removes itself in O(1) with no
/// allocation, and the timer is re-armed only when a call's deadline comes before the one it is armed for: back-to-back
/// calls with the same timeout touch the timer queue about once per timeout, as a process's receive timer does.
/// </summary>
/// <remarks>Timeouts never end early: the timer may fire early (the timer queue counts whole milliseconds), and then
/// finds nothing due and re-arms for what is left. A scan costs one look at each pending call, and runs once per
/// earliest deadline; pending calls are as many as callers waiting at once.</remarks>
internal sealed class CallDeadlines : INodeService
{
    private static readonly Func<Node, CallDeadlines> s_create = static node => new CallDeadlines(node.TimeProvider);

    private readonly Shard[] _shards = CreateShards();
    private readonly TimeProvider _time;

    // Guards arming the timer; _dueAt is when it fires (a timestamp of _time), long.MaxValue while disarmed.
    private readonly Lock _timerLock = new();
    private ITimer? _timer;
    private long _dueAt = long.MaxValue;

    /// <summary>Deadlines on <paramref name="time"/>'s clock.</summary>
    public CallDeadlines(TimeProvider time) => _time = time;

    /// <summary>The deadlines of calls to <paramref name="node"/>'s servers, on its clock.</summary>
    public static CallDeadlines Of(Node node) => node.GetService(s_create);

    /// <summary>Calls still pending when the node stops end at their deadline or with their server, as before.</summary>
    void INodeService.OnNodeStopped()
    {
    }

    /// <summary>Lists <paramref name="call"/> until its <see cref="OutsideCall.Deadline"/>, or until removed.</summary>
    public void Add(OutsideCall call)
    {
        var index = Thread.GetCurrentProcessorId() & (_shards.Length - 1);
        var shard = _shards[index];
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

        // Read after the call is listed: a scan that set _dueAt to MaxValue before this read either saw the call or
        // is followed by this arming (the shard's lock orders the two).
        if (Volatile.Read(ref _dueAt) > call.Deadline)
        {
            Arm(call.Deadline);
        }
    }

    /// <summary>Unlists <paramref name="call"/>; nothing when it is not listed (it expired, or never had a deadline).</summary>
    public void Remove(OutsideCall call)
    {
        var index = Volatile.Read(ref call.DeadlineShard);
        if (index < 0)
        {
            return;
        }

        var shard = _shards[index];
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

    private void Arm(long deadline)
    {
        lock (_timerLock)
        {
            if (_dueAt <= deadline)
            {
                return;
            }

            _dueAt = deadline;
            var milliseconds = Math.Ceiling((deadline - _time.GetTimestamp()) * 1000.0 / _time.TimestampFrequency);
            (_timer ??= CreateTimer()).Change(TimeSpan.FromMilliseconds(Math.Clamp(milliseconds, 0, int.MaxValue - 1)), Timeout.InfiniteTimeSpan);
        }
    }

    // The timer must not capture the first caller's execution context (its AsyncLocals, its activity) for ever.
    private ITimer CreateTimer()
    {
        using (ExecutionContext.SuppressFlow())
        {
            return _time.CreateTimer(static deadlines => ((CallDeadlines)deadlines!).Expire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Ends every call whose deadline has passed, then re-arms the timer for the earliest one left.</summary>
    private void Expire()
    {
        // Disarmed first: a call listed after its shard is scanned below arms the timer itself.
        Interlocked.Exchange(ref _dueAt, long.MaxValue);
        var now = _time.GetTimestamp();
        var earliest = long.MaxValue;
        List<CallFrom>? expired = null;
        foreach (var shard in _shards)
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
