using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Heirloom.Processes;

/// <summary>
/// The kernel's record of one process: its scheduler state, mailbox, timers, receive source, links, monitors, name and
/// the resources it owns. User code never holds it; it reaches its process through the <see cref="ProcessContext"/>
/// handle, and other processes through a <see cref="Pid"/>.
/// </summary>
[DebuggerDisplay("{Self} {Status}")]
internal sealed partial class Process : IThreadPoolWorkItem, IValueTaskSource<object?>
{
    private static readonly AsyncLocal<Process?> s_current = new();
    private static readonly Func<object, object?, bool> s_invokeMatch = static (message, match) => ((Func<object, bool>)match!)(message);

    // The body to start (a Func) until the first run starts it, then its task while it runs: one field, as the two
    // never coexist.
    private object? _body;

    internal Process(Node node, long serial, Func<ProcessContext, Task> body, Pid parent)
    {
        Node = node;
        Serial = serial;
        Parent = parent;
        Context = new ProcessContext(this);
        _body = body;
        _schedule = Scheduled;
    }

    /// <summary>The process the calling code runs in, or null outside any process.</summary>
    internal static Process? Current => s_current.Value;

    /// <summary>The handle the process's own code uses.</summary>
    internal ProcessContext Context { get; }

    internal Pid Self => new(this);

    internal Node Node { get; }

    internal Pid Parent { get; }

    internal long Serial { get; }

    // This process's place in its node's registry, guarded by the stripe's lock (see ProcessRegistry).
    internal int RegistryStripe { get; set; }

    internal Process? RegistryPrevious { get; set; }

    internal Process? RegistryNext { get; set; }

    internal bool TrapExit
    {
        get => _trapExit;
        set => _trapExit = value;
    }

    internal Pid Spawn(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: null, monitor: null, out _);

    internal Pid SpawnLink(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: this, monitor: null, out _);

    internal (Pid Pid, MonitorRef Monitor) SpawnMonitor(Func<ProcessContext, Task> body)
    {
        var pid = Node.SpawnCore(body, Self, link: null, monitor: this, out var monitor);
        return (pid, monitor);
    }

    internal ValueTask<object> ReceiveAsync()
    {
        var pending = ReceiveCore(null, null, Timeout.Infinite);

        // Only a timeout completes the source with null, and an infinite wait has none.
        return Unsafe.As<ValueTask<object?>, ValueTask<object>>(ref pending);
    }

    internal ValueTask<object?> ReceiveAsync(TimeSpan timeout) => ReceiveCore(null, null, ToMilliseconds(timeout));

    internal ValueTask<object?> ReceiveAsync(Func<object, bool> match, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return ReceiveCore(s_invokeMatch, match, ToMilliseconds(timeout));
    }

    internal ValueTask<object?> ReceiveAsync(Func<object, object?, bool> match, object? state, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return ReceiveCore(match, state, ToMilliseconds(timeout));
    }

    internal ValueTask<object> ReceiveAsync(Func<object, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var pending = ReceiveCore(s_invokeMatch, match, Timeout.Infinite);
        return Unsafe.As<ValueTask<object?>, ValueTask<object>>(ref pending);
    }

    /// <summary>Prints the process as its pid.</summary>
    public override string ToString() => Self.ToString();

    internal void Start() => Schedule();

    void IThreadPoolWorkItem.Execute()
    {
        if (t_runningProcesses)
        {
            Run();
            return;
        }

        t_runningProcesses = true;
        try
        {
            Run();

            // Run the processes this thread woke, as Go's runnext does: a message handed to a waiting process
            // is handled on the same thread with no queue in between. After a bounded chain, the rest waits its
            // turn in the global queue so other work is not starved.
            for (var hops = 0; t_runNext is { } next; hops++)
            {
                t_runNext = null;
                if (hops == MaxChainedRuns)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(next, preferLocal: false);
                    break;
                }

                next.Run();
            }
        }
        finally
        {
            t_runningProcesses = false;
        }
    }

    private void Run()
    {
        var thread = ProcessThread.Current;
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

        if (task.IsCompleted)
        {
            Finish(task);
        }
        else
        {
            _body = task;
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnBodyCompleted);
        }
    }

    private void OnBodyCompleted() => Finish((Task)_body!);

    private void Finish(Task task)
    {
        _body = null;
        if (task.IsCompletedSuccessfully)
        {
            Terminate(ExitReason.Normal);
            return;
        }

        var exception = task.Exception?.InnerExceptions is [var single] ? single : (Exception?)task.Exception ?? new TaskCanceledException(task);
        if (exception is ProcessExitException exit)
        {
            Terminate(exit.Reason);
            return;
        }

        Terminate(ExitReason.Error(exception), crash: exception);
    }

    private static int ToMilliseconds(TimeSpan timeout)
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
