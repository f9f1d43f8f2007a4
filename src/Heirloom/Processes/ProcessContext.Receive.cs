using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Heirloom.Processes;

/// <summary>Receiving and scheduling: the mailbox is the unit of scheduling, run as a thread-pool work item.</summary>
public sealed partial class ProcessContext
{
    // _schedule moves Running -> Waiting (the body parks in a receive), Waiting -> Scheduled (one CAS by whoever
    // wakes it: a sender, the timer, a kill), Scheduled -> Running (the work item runs). Only the CAS winner queues
    // the work item, so a process never runs twice at once.
    private const int Running = 0;
    private const int Waiting = 1;
    private const int Scheduled = 2;

    // After this many receives satisfied without waiting, the process yields its thread (Erlang's reductions).
    private const int ReductionBudget = 256;

    private readonly Mailbox _mailbox = new();
    private ManualResetValueTaskSourceCore<object?> _source;
    private int _schedule;
    private int _reductions;
    private bool _receiving;

    // Messages a selective receive looked at and skipped, oldest first; they come before the mailbox.
    private List<object>? _saved;
    private Func<object, object?, bool>? _match;
    private object? _matchState;

    // Each wait has a generation; the timer only acts on the generation it was armed for.
    private Timer? _timer;
    private int _waitGeneration;
    private int _timedOutGeneration;

    internal void Deliver(object message)
    {
        if (!IsAlive)
        {
            return;
        }

        _mailbox.Enqueue(message);
        Wake();
    }

    internal int MessageQueueLength => _mailbox.Count() + (_saved?.Count ?? 0);

    internal ProcessStatus Status => !IsAlive ? ProcessStatus.Exited : Volatile.Read(ref _schedule) switch
    {
        Waiting => ProcessStatus.Waiting,
        Scheduled => ProcessStatus.Runnable,
        _ => ProcessStatus.Running,
    };

    // How many woken processes one thread runs back to back before sending the next to the global queue: long
    // enough that the cost of waking another thread for it is amortised (about a millisecond of work at most).
    private const int MaxChainedRuns = 2048;

    // The process this thread woke last and runs next, when the thread is running processes.
    [ThreadStatic]
    private static ProcessContext? t_runNext;

    [ThreadStatic]
    private static bool t_runningProcesses;

    private void Wake()
    {
        if (Volatile.Read(ref _schedule) == Waiting && Interlocked.CompareExchange(ref _schedule, Scheduled, Waiting) == Waiting)
        {
            Schedule();
        }
    }

    /// <summary>Queues the process to run. Only the winner of the CAS to Scheduled (or the spawner) calls this.</summary>
    private void Schedule()
    {
        if (!t_runningProcesses)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
            return;
        }

        // The newest wake takes the slot; an older occupant moves to this thread's local queue, where idle
        // threads can steal it.
        var previous = t_runNext;
        t_runNext = this;
        if (previous is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(previous, preferLocal: true);
        }
    }

    private ValueTask<object?> ReceiveCore(Func<object, object?, bool>? match, object? state, int timeoutMilliseconds)
    {
        if (_exitReason is { } reason)
        {
            throw new ProcessExitException(reason);
        }

        if (s_current.Value != this)
        {
            throw new InvalidOperationException($"Only process {Self} can receive from its mailbox; call ReceiveAsync from its own body.");
        }

        if (_receiving)
        {
            throw new InvalidOperationException($"Process {Self} is already waiting in a receive; a process receives one message at a time, from its own body.");
        }

        if (TryTake(match, state, scanSaved: true, out var message))
        {
            if (++_reductions < ReductionBudget)
            {
                return new ValueTask<object?>(message);
            }

            return Yield(message);
        }

        if (timeoutMilliseconds == 0)
        {
            return new ValueTask<object?>((object?)null);
        }

        _source.Reset();
        _match = match;
        _matchState = state;
        _receiving = true;
        var generation = ++_waitGeneration;
        if (timeoutMilliseconds != Timeout.Infinite)
        {
            _timer ??= new Timer(static state => ((ProcessContext)state!).OnTimeout(), this, Timeout.Infinite, Timeout.Infinite);
            _deadline = Stopwatch.GetTimestamp() + (timeoutMilliseconds * Stopwatch.Frequency / 1000);
            Volatile.Write(ref _armedGeneration, generation);
            _timer.Change(timeoutMilliseconds, Timeout.Infinite);
        }

        var version = _source.Version;
        ParkOrResume();
        return new ValueTask<object?>(this, version);
    }

    // The generation the timer was last armed for, and when that wait ends; read by the timer thread.
    private int _armedGeneration;
    private long _deadline;

    /// <summary>Gives the thread back after a long run of messages: the taken message is delivered when the
    /// process is next scheduled.</summary>
    private ValueTask<object?> Yield(object message)
    {
        _reductions = 0;
        _source.Reset();
        _receiving = true;
        _yielded = message;
        Volatile.Write(ref _schedule, Scheduled);
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return new ValueTask<object?>(this, _source.Version);
    }

    private object? _yielded;

    /// <summary>
    /// Parks the waiting body, or completes its wait at once when a message, a timeout or an exit is already
    /// there. Returns when either a waker owns the process (it will run <see cref="Resume"/>) or the wait
    /// has been completed here.
    /// </summary>
    private void ParkOrResume()
    {
        while (true)
        {
            // The exchange is a full fence: a sender that enqueued before it is seen below; one after it sees Waiting.
            Interlocked.Exchange(ref _schedule, Waiting);
            if (_mailbox.IsEmpty && IsAlive && Volatile.Read(ref _timedOutGeneration) != _waitGeneration)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _schedule, Running, Waiting) != Waiting)
            {
                // A waker won the race and has queued the work item.
                return;
            }

            if (TryComplete())
            {
                return;
            }
        }
    }

    /// <summary>Runs on the thread pool when a waker scheduled this waiting process.</summary>
    private void Resume()
    {
        if (_yielded is { } yielded)
        {
            _yielded = null;
            Complete(yielded);
            return;
        }

        if (!TryComplete())
        {
            ParkOrResume();
        }
    }

    /// <summary>Completes the pending receive if it can be: exit, then a matching message, then the timeout.</summary>
    private bool TryComplete()
    {
        Debug.Assert(_receiving, "Only a pending receive is completed.");
        if (_exitReason is { } reason)
        {
            _receiving = false;
            _waitGeneration++;
            _source.SetException(new ProcessExitException(reason));
            return true;
        }

        if (TryTake(_match, _matchState, scanSaved: false, out var message))
        {
            Complete(message);
            return true;
        }

        if (Volatile.Read(ref _timedOutGeneration) == _waitGeneration)
        {
            Complete(null);
            return true;
        }

        return false;
    }

    private void Complete(object? message)
    {
        _receiving = false;
        _match = null;
        _matchState = null;
        _waitGeneration++;

        // Continuations run inline: the body resumes on this work item, so a batch of messages costs no extra hops.
        _source.SetResult(message);
    }

    private void OnTimeout()
    {
        var generation = Volatile.Read(ref _armedGeneration);
        if (generation == Volatile.Read(ref _waitGeneration))
        {
            // The timer queue counts whole milliseconds and may fire up to one early; a receive never times out
            // before its full timeout has passed, as in Erlang.
            var early = _deadline - Stopwatch.GetTimestamp();
            if (early > 0)
            {
                _timer!.Change((int)Math.Ceiling(early * 1000.0 / Stopwatch.Frequency), Timeout.Infinite);
                return;
            }

            Volatile.Write(ref _timedOutGeneration, generation);
            Wake();
        }
    }

    private bool TryTake(Func<object, object?, bool>? match, object? state, bool scanSaved, out object message)
    {
        if (scanSaved && _saved is { Count: > 0 } saved)
        {
            for (var i = 0; i < saved.Count;)
            {
                message = saved[i];
                if (IsStale(message))
                {
                    saved.RemoveAt(i);
                }
                else if (match is null || match(message, state))
                {
                    saved.RemoveAt(i);
                    OnTaken(message);
                    return true;
                }
                else
                {
                    i++;
                }
            }
        }

        while (_mailbox.TryDequeue(out message))
        {
            if (IsStale(message))
            {
                continue;
            }

            if (match is null || match(message, state))
            {
                OnTaken(message);
                return true;
            }

            (_saved ??= []).Add(message);
        }

        return false;
    }

    object? IValueTaskSource<object?>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<object?>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<object?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);
}
