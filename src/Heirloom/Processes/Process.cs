using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Heirloom.Processes;

/// <summary>
/// The kernel's record of one process: its scheduler state, mailbox, timers, receive source, links, monitors, name and
/// the resources it owns. User code sees it only as its <see cref="ProcessContext"/> base, the handle the body is
/// given, and other processes reach it through a <see cref="Pid"/>.
/// </summary>
[DebuggerDisplay("{Self} {Status}")]
internal sealed partial class Process : ProcessContext, IThreadPoolWorkItem, IValueTaskSource<object?>
{
    private static readonly AsyncLocal<Process?> s_current = new();
    internal static readonly Func<object, object?, bool> s_invokeMatch = static (message, match) => ((Func<object, bool>)match!)(message);

    // The body to start (a Func) until the first run starts it, then its task until it finishes: one field, as the
    // two never coexist. Whoever takes the task out of it (one compare-exchange) finishes the process.
    private object? _body;

    // Whether the body's task has a completion callback (see AfterBodyRan).
    private bool _bodyWatched;

    internal Process(Node node, long serial, Func<ProcessContext, Task> body, Pid parent)
        : base(node, parent)
    {
        Serial = serial;
        _body = body;
        _schedule = Scheduled;
    }

    /// <summary>The process the calling code runs in, or null outside any process.</summary>
    internal static Process? CurrentProcess => s_current.Value;

    /// <summary>The handle the process's own code uses: this record, through its public face.</summary>
    internal ProcessContext Context => this;

    internal long Serial { get; }

    // This process's place in its node's registry, guarded by the stripe's lock (see ProcessRegistry).
    internal int RegistryStripe { get; set; }

    internal Process? RegistryPrevious { get; set; }

    internal Process? RegistryNext { get; set; }

    internal bool TrapsExits
    {
        get => _trapExit;
        set => _trapExit = value;
    }

    internal void Start() => Schedule(ProcessThread.Current);

    void IThreadPoolWorkItem.Execute()
    {
        var thread = ProcessThread.Current;
        if (thread.RunsProcesses)
        {
            Run(thread);
            return;
        }

        thread.RunsProcesses = true;
        try
        {
            Run(thread);

            // Run the processes this thread woke, as Go's runnext does: a message handed to a waiting process
            // is handled on the same thread with no queue in between. After a bounded chain, the rest waits its
            // turn in the global queue so other work is not starved.
            for (var hops = 0; thread.RunNext is { } next; hops++)
            {
                thread.RunNext = null;
                if (hops == MaxChainedRuns)
                {
                    Node.Scheduler.Queue(next, preferLocal: false);
                    break;
                }

                next.Run(thread);
            }
        }
        finally
        {
            thread.RunsProcesses = false;
        }
    }

    private void Run(ProcessThread thread)
    {
        var outer = thread.Running;
        thread.Running = this;
        try
        {
            _reductions = 0;
            Volatile.Write(ref _schedule, Running);
            if (_body is Func<ProcessContext, Task> body)
            {
                _body = null;
                RunBody(body);
            }
            else
            {
                Resume();
            }

            AfterBodyRan();
        }
        finally
        {
            thread.Running = outer;
        }
    }

    private void RunBody(Func<ProcessContext, Task> body)
    {
        if (!IsAlive)
        {
            return;
        }

        Task task;
        s_current.Value = this;
        try
        {
            task = body(Context);
        }
        catch (Exception exception)
        {
            task = Task.FromException(exception);
        }
        finally
        {
            s_current.Value = null;
        }

        // A full fence, paired with the one in AfterBodyRan of a run that resumed the body meanwhile.
        Interlocked.Exchange(ref _body, task);
    }

    /// <summary>
    /// Runs after the body's code stops running on a thread the kernel controls (a run of the process, a late receive
    /// continuation) and makes sure someone will see the body finish. A body that finished is finished here. A body
    /// parked in its own receive (its state machine is the receive's continuation state) needs nothing: only a run of
    /// this process resumes it, and that run checks again. Any other body (awaiting a task, or receiving from a nested
    /// method) gets a completion callback, once; it is never removed, so it covers everything after.
    /// </summary>
    /// <remarks>A body that lives parked in its receive, as most do, so costs no callback delegate. Two of these
    /// checks may run at once (a run and a late continuation); both only ever finish the body through the one
    /// compare-exchange on <see cref="_body"/>, and a stale look at the receive's state is safe because whoever
    /// resumed the body checks after it.</remarks>
    private void AfterBodyRan()
    {
        var body = Volatile.Read(ref _body);
        if (body is null)
        {
            // The first run may still be publishing the body's task while this run resumed it. The fence pairs with
            // that publication's: either this run sees the task, or the first run sees the receive state this run
            // cleared, and checks the body itself.
            Interlocked.MemoryBarrier();
            body = Volatile.Read(ref _body);
        }

        if (body is not Task task)
        {
            return;
        }

        if (task.IsCompleted)
        {
            FinishOnce(task);
        }
        else if (!_bodyWatched && Volatile.Read(ref _continuationState) != task && !Interlocked.Exchange(ref _bodyWatched, true))
        {
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnBodyCompleted);
        }
    }

    private void OnBodyCompleted()
    {
        if (Volatile.Read(ref _body) is Task task)
        {
            FinishOnce(task);
        }
    }

    private void FinishOnce(Task task)
    {
        if (Interlocked.CompareExchange(ref _body, null, task) == task)
        {
            Finish(task);
        }
    }

    private void Finish(Task task)
    {
        if (task.IsCompletedSuccessfully)
        {
            Terminate(ExitReason.Normal);
        }
        else
        {
            var exception = task.Exception?.InnerExceptions is [var single] ? single : (Exception?)task.Exception ?? new TaskCanceledException(task);
            if (exception is ProcessExitException exit)
            {
                Terminate(exit.Reason);
            }
            else
            {
                Terminate(ExitReason.Error(exception), crash: exception);
            }
        }

        // The body has finished and the process has exited (by this call, or earlier by a kill): nothing receives any
        // more, and nothing new is delivered.
        if (HandsOnMessages)
        {
            HandOnLeftovers(_exitReason!);
        }
    }

    internal static int ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return Timeout.Infinite;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout.TotalMilliseconds, int.MaxValue - 1, nameof(timeout));
        return (int)Math.Ceiling(timeout.TotalMilliseconds);
    }
}
