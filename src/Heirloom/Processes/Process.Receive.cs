using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Heirloom.Processes;

/// <summary>Receiving and scheduling: the mailbox is the unit of scheduling, run as a thread-pool work item.</summary>
internal sealed partial class Process
{
    // _schedule moves Running -> Waiting (the body parks in a receive), Waiting -> Scheduled (one CAS by whoever
    // wakes it: a sender, the timer, a kill), Scheduled -> Running (the work item runs). Only the CAS winner queues
    // the work item, so a process never runs twice at once.
    private const int Running = 0;
    private const int Waiting = 1;
    private const int Scheduled = 2;

    // After this many receives satisfied without waiting, the process yields its thread (Erlang's reductions).
    private const int ReductionBudget = 256;

    // A mutable struct, used in place.
    private Mailbox _mailbox;

    private int _schedule;
    private int _reductions;
    private bool _receiving;

    // Set once a process that hands its messages on has finished after its exit and handed on its leftovers; a message
    // delivered after that is handed on by its sender (see TryDeliver).
    private bool _mailboxClosed;

    // The drains of the closed mailbox asked for and not yet done (see DrainClosedMailbox).
    private int _drainsAsked;

    // Each wait has a generation (bumped when it starts and when it ends); a timeout names the generation it ends.
    private int _waitGeneration;

    // What selective, timed and call receives need; made by the first such receive (see WaitState).
    private WaitState? _wait;

    private WaitState Wait => _wait ?? CreateWait();

    internal void Deliver(object message) => TryDeliver(message);

    /// <summary>Delivers a message; false, dropping it, when the process has exited.</summary>
    internal bool TryDeliver(object message)
    {
        if (!IsAlive)
        {
            return false;
        }

        _mailbox.Enqueue(message);
        Wake();

        // Enqueue ends with a full fence, as closing does: either the closing drain takes this message, or this read
        // finds the mailbox closed and the message is handed on from here (its sender passed the liveness check just
        // before the exit, and no receive will ever take it).
        if (Volatile.Read(ref _mailboxClosed))
        {
            DrainClosedMailbox();
        }

        return true;
    }

    /// <summary>
    /// Delivers a call made from outside any process and, when the process was waiting for a message and this thread
    /// may run it, runs the process here until it waits again, instead of waking a pool thread for it: the caller is
    /// about to wait for the reply anyway, and both hops between threads are saved. False, dropping the message, when
    /// the process has exited.
    /// </summary>
    /// <remarks>The process runs as on a pool thread: with no synchronization context (the caller's is put back
    /// afterwards), so its code's awaits never post to the caller's, and the processes it wakes are queued to the pool,
    /// not run here. A thread that runs processes already, a task scheduler other than the default, or a suppressed
    /// execution flow leaves the process to the pool.</remarks>
    internal bool TryDeliverAndRun(object message)
    {
        if (!IsAlive)
        {
            return false;
        }

        _mailbox.Enqueue(message);
        if (Volatile.Read(ref _schedule) == Waiting && Interlocked.CompareExchange(ref _schedule, Scheduled, Waiting) == Waiting)
        {
            var thread = ProcessThread.Current;
            if (MayRunHere(thread))
            {
                RunHere(thread);
            }
            else
            {
                Schedule(thread);
            }
        }

        // As in TryDeliver.
        if (Volatile.Read(ref _mailboxClosed))
        {
            DrainClosedMailbox();
        }

        return true;
    }

    private bool MayRunHere(ProcessThread thread) =>
        !thread.RunsProcesses && Node.Scheduler.ChainsRuns && TaskScheduler.Current == TaskScheduler.Default && !ExecutionContext.IsFlowSuppressed();

    // The caller's execution context needs no such care: a process's code runs in its body's async state machine,
    // which restores the context it captured on its first run, on the pool.
    private void RunHere(ProcessThread thread)
    {
        var callerSynchronization = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        thread.RunsProcesses = true;
        try
        {
            Run(thread);
        }
        finally
        {
            thread.RunsProcesses = false;
            SynchronizationContext.SetSynchronizationContext(callerSynchronization);
        }

        // The caller waits for its reply, not for the processes the run woke.
        if (thread.RunNext is { } next)
        {
            thread.RunNext = null;
            Node.Scheduler.Queue(next, preferLocal: true);
        }
    }

    /// <summary>
    /// Hands on the messages a process that hands its messages on (<see cref="HandsOnMessages"/>) left unreceived: each
    /// <see cref="IHandedOnMessage"/> is told of the exit, oldest first. Runs once, when the body has finished after the
    /// exit, so that no receive takes messages meanwhile. A message that arrives later is refused by
    /// <see cref="TryDeliver"/>, which its sender sees, or, when its sender found the process alive just before the
    /// exit, handed on by its sender.
    /// </summary>
    private void HandOnLeftovers(ExitReason reason)
    {
        if (_wait?.Saved is { Count: > 0 } saved)
        {
            foreach (var message in saved)
            {
                (message as IHandedOnMessage)?.OnReceiverExited(this, reason);
            }

            saved.Clear();
        }

        Volatile.Write(ref _mailboxClosed, true);
        Interlocked.MemoryBarrier();
        DrainClosedMailbox();
    }

    /// <summary>Hands on what the closed mailbox holds. Whoever raises the count of drains asked for from zero drains
    /// until it falls back to zero, so one thread at a time dequeues (the queue has one consumer), and a message whose
    /// link was still being written when a drain passed it is taken by the drain its sender asks for.</summary>
    private void DrainClosedMailbox()
    {
        if (Interlocked.Increment(ref _drainsAsked) != 1)
        {
            return;
        }

        do
        {
            while (_mailbox.TryDequeue(out var message))
            {
                (message as IHandedOnMessage)?.OnReceiverExited(this, _exitReason!);
            }
        }
        while (Interlocked.Decrement(ref _drainsAsked) != 0);
    }

    internal int MessageQueueLength => _mailbox.Count() + (Volatile.Read(ref _wait)?.Saved?.Count ?? 0);

    internal ProcessStatus Status => !IsAlive ? ProcessStatus.Exited : Volatile.Read(ref _schedule) switch
    {
        Waiting => ProcessStatus.Waiting,
        Scheduled => ProcessStatus.Runnable,
        _ => ProcessStatus.Running,
    };

    // How many woken processes one thread runs back to back before sending the next to the global queue: long
    // enough that the cost of waking another thread for it is amortised (about a millisecond of work at most).
    private const int MaxChainedRuns = 2048;

    private void Wake()
    {
        if (Volatile.Read(ref _schedule) == Waiting && Interlocked.CompareExchange(ref _schedule, Scheduled, Waiting) == Waiting)
        {
            Schedule(ProcessThread.Current);
        }
    }

    /// <summary>Queues the process to run. Only the winner of the CAS to Scheduled (or the spawner) calls this.</summary>
    private void Schedule(ProcessThread thread)
    {
        Debug.Assert(Volatile.Read(ref _schedule) == Scheduled, "Only the CAS winner to Scheduled (or the spawner) queues a process, so it never runs twice at once.");
        var scheduler = Node.Scheduler;
        if (!thread.RunsProcesses || !scheduler.ChainsRuns)
        {
            scheduler.Queue(this, preferLocal: true);
            return;
        }

        // The newest wake takes the slot; an older occupant moves to this thread's local queue, where idle
        // threads can steal it.
        var previous = thread.RunNext;
        thread.RunNext = this;
        if (previous is not null)
        {
            scheduler.Queue(previous, preferLocal: true);
        }
    }

    internal ValueTask<object?> ReceiveCore(Func<object, object?, bool>? match, object? state, int timeoutMilliseconds)
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

        ResetReceive();
        if (match is not null)
        {
            var wait = Wait;
            wait.Match = match;
            wait.MatchState = state;
        }

        _receiving = true;
        StartWait(timeoutMilliseconds);

        var version = ReceiveVersion;
        ParkOrResume();
        return new ValueTask<object?>(this, version);
    }

    // Published with a fence: the timer thread and an exiting process's killer read it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WaitState CreateWait()
    {
        var wait = new WaitState();
        Volatile.Write(ref _wait, wait);
        return wait;
    }

    /// <summary>
    /// Starts a new wait. The timer is only re-armed when it would fire after this wait's deadline: back-to-back
    /// calls with the same timeout arm it about once per timeout instead of once per call; when it fires early for
    /// the current wait, <see cref="OnTimeout"/> re-arms it.
    /// </summary>
    private void StartWait(int timeoutMilliseconds)
    {
        if (timeoutMilliseconds == Timeout.Infinite)
        {
            if (_wait is { } untimed)
            {
                untimed.Deadline = long.MaxValue;
            }

            // The increment is a full fence, as below.
            Interlocked.Increment(ref _waitGeneration);
            return;
        }

        var wait = Wait;
        var time = Node.TimeProvider;
        var deadline = time.GetTimestamp() + (timeoutMilliseconds * time.TimestampFrequency / 1000);
        wait.Deadline = deadline;

        // The increment is a full fence: either the timer thread sees this wait, or this thread sees the timer disarmed.
        Interlocked.Increment(ref _waitGeneration);
        if (Volatile.Read(ref wait.TimerDueAt) <= deadline)
        {
            return;
        }

        var timer = wait.Timer ??= CreateTimer(time);
        lock (timer)
        {
            if (wait.TimerDueAt > deadline)
            {
                wait.TimerDueAt = deadline;
                timer.Change(TimeSpan.FromMilliseconds(timeoutMilliseconds), Timeout.InfiniteTimeSpan);
            }
        }
    }

    // Made once per process, on its first timed receive, and kept: re-arming it allocates nothing. It must not capture
    // the first waiter's execution context (its AsyncLocals) for the process's life.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ITimer CreateTimer(TimeProvider time)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return time.CreateTimer(static state => ((Process)state!).OnTimeout(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Gives the thread back after a long run of messages: the taken message is delivered when the
    /// process is next scheduled.</summary>
    private ValueTask<object?> Yield(object message)
    {
        _reductions = 0;
        ResetReceive();
        _receiving = true;
        _yielding = true;
        _result = message;
        Volatile.Write(ref _schedule, Scheduled);
        Node.Scheduler.Queue(this, preferLocal: false);
        return new ValueTask<object?>(this, ReceiveVersion);
    }

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
            if (_mailbox.IsEmpty && IsAlive && !TimedOut)
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
        if (_yielding)
        {
            _yielding = false;
            Complete(_result);
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
            Volatile.Write(ref _waitGeneration, _waitGeneration + 1);
            SetReceiveFailed(new ProcessExitException(reason));
            return true;
        }

        if (TryTake(_wait?.Match, _wait?.MatchState, scanSaved: false, out var message))
        {
            Complete(message);
            return true;
        }

        if (TimedOut)
        {
            Complete(null);
            return true;
        }

        return false;
    }

    private void Complete(object? message)
    {
        _receiving = false;
        if (_wait is { } wait)
        {
            wait.Match = null;
            wait.MatchState = null;
        }

        Volatile.Write(ref _waitGeneration, _waitGeneration + 1);
        SetReceiveResult(message);
    }

    private bool TimedOut => _wait is { } wait && Volatile.Read(ref wait.TimedOutGeneration) == _waitGeneration;

    private void OnTimeout()
    {
        var wait = Volatile.Read(ref _wait)!;
        var timer = wait.Timer!;
        lock (timer)
        {
            Interlocked.Exchange(ref wait.TimerDueAt, long.MaxValue);
            var generation = Volatile.Read(ref _waitGeneration);
            var deadline = Volatile.Read(ref wait.Deadline);
            if (deadline == long.MaxValue)
            {
                return;
            }

            // The timer may have been armed for an earlier wait, and the timer queue counts whole milliseconds and
            // may fire up to one early: a receive never times out before its full timeout, as in Erlang.
            var time = Node.TimeProvider;
            var remaining = deadline - time.GetTimestamp();
            if (remaining > 0)
            {
                wait.TimerDueAt = deadline;
                timer.Change(TimeSpan.FromMilliseconds(Math.Ceiling(remaining * 1000.0 / time.TimestampFrequency)), Timeout.InfiniteTimeSpan);
                return;
            }

            Volatile.Write(ref wait.TimedOutGeneration, generation);
        }

        Wake();
    }

    private bool TryTake(Func<object, object?, bool>? match, object? state, bool scanSaved, out object message)
    {
        if (scanSaved && _wait?.Saved is { Count: > 0 } saved)
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

            (Wait.Saved ??= []).Add(message);
        }

        return false;
    }

    /// <summary>
    /// What a receive that is selective, timed or waiting on a call needs beyond the mailbox. Made on the process's
    /// first such receive and kept: most processes only ever wait for their next message, and an idle process's size
    /// is what a million of them cost.
    /// </summary>
    private sealed class WaitState
    {
        // Messages a selective receive looked at and skipped, oldest first; they come before the mailbox.
        public List<object>? Saved;

        // The pending receive's predicate and its state; null while the process runs or waits for any message.
        public Func<object, object?, bool>? Match;
        public object? MatchState;

        public ITimer? Timer;

        // When the current wait times out (a timestamp of the node's TimeProvider; MaxValue for none), and when the timer is due to fire
        // (MaxValue when not armed). Both are read by the timer thread.
        public long Deadline = long.MaxValue;
        public long TimerDueAt = long.MaxValue;

        // The wait generation the timer ended. Every wait's generation is above zero, so the initial value ends none.
        public int TimedOutGeneration;

        // The monitor of the one call this process is waiting on (a process makes one call at a time). Lighter than a
        // general monitor: only the target records it, and whoever clears CallTarget first removes it there.
        public Process? CallTarget;
        public MonitorRef CallRef;
    }
}
