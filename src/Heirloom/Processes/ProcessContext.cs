using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Heirloom.Processes;

/// <summary>
/// A lightweight process: its mailbox, links, monitors and name. The process's body receives its context and
/// uses it to receive, spawn, link and monitor. Everything here except <see cref="Self"/>, <see cref="Node"/> and
/// <see cref="Current"/> must be called by the process itself (from its body), which never runs two things at once.
/// </summary>
public sealed partial class ProcessContext : IThreadPoolWorkItem, IValueTaskSource<object?>
{
    private static readonly AsyncLocal<ProcessContext?> s_current = new();
    private static readonly Func<object, object?, bool> s_invokeMatch = static (message, match) => ((Func<object, bool>)match!)(message);

    private Func<ProcessContext, Task>? _body;
    private Task? _bodyTask;

    internal ProcessContext(Node node, long serial, Func<ProcessContext, Task> body, Pid parent)
    {
        Node = node;
        Serial = serial;
        Parent = parent;
        _body = body;
        _schedule = Scheduled;
    }

    /// <summary>The process the calling code runs in, or null outside any process.</summary>
    public static ProcessContext? Current => s_current.Value;

    /// <summary>This process's pid.</summary>
    public Pid Self => new(this);

    /// <summary>The node this process lives on.</summary>
    public Node Node { get; }

    /// <summary>The process that spawned this one; <c>default(Pid)</c> when spawned from outside any process.</summary>
    public Pid Parent { get; }

    internal long Serial { get; }

    /// <summary>
    /// Whether exit signals from links and <see cref="Exit(Pid, ExitReason)"/> arrive as <see cref="Processes.Exit"/>
    /// messages instead of killing this process. <see cref="ExitReason.Kill"/> can never be trapped.
    /// </summary>
    public bool TrapExit
    {
        get => _trapExit;
        set => _trapExit = value;
    }

    /// <summary>Sends a message to a process; never blocks, never throws for a dead pid.</summary>
    /// <param name="to">The receiver.</param>
    /// <param name="message">The message; may not be null.</param>
    public void Send(Pid to, object message) => to.Send(message);

    /// <summary>Spawns a process whose parent is this one.</summary>
    /// <param name="body">The new process's code.</param>
    public Pid Spawn(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: null, monitor: null, out _);

    /// <summary>Spawns a process linked to this one, atomically: the link exists before the child runs.</summary>
    /// <param name="body">The new process's code.</param>
    public Pid SpawnLink(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: this, monitor: null, out _);

    /// <summary>Spawns a process monitored by this one, atomically: the monitor exists before the child runs.</summary>
    /// <param name="body">The new process's code.</param>
    /// <returns>The child's pid and the monitor's reference.</returns>
    public (Pid Pid, MonitorRef Monitor) SpawnMonitor(Func<ProcessContext, Task> body)
    {
        var pid = Node.SpawnCore(body, Self, link: null, monitor: this, out var monitor);
        return (pid, monitor);
    }

    /// <summary>Waits for the next message in arrival order.</summary>
    public ValueTask<object> ReceiveAsync()
    {
        var pending = ReceiveCore(null, null, Timeout.Infinite);

        // Only a timeout completes the source with null, and an infinite wait has none.
        return Unsafe.As<ValueTask<object?>, ValueTask<object>>(ref pending);
    }

    /// <summary>Waits for the next message, or returns null when <paramref name="timeout"/> passes first
    /// (Erlang's <c>receive ... after T</c>). A zero timeout only looks at messages already there.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(TimeSpan timeout) => ReceiveCore(null, null, ToMilliseconds(timeout));

    /// <summary>Selective receive: waits for the oldest message that <paramref name="match"/> accepts, leaving the
    /// others in the mailbox in their order; returns null when <paramref name="timeout"/> passes first.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(Func<object, bool> match, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return ReceiveCore(s_invokeMatch, match, ToMilliseconds(timeout));
    }

    /// <summary>Selective receive with a state for the predicate, so that a static lambda needs no closure: waits for
    /// the oldest message for which <paramref name="match"/>(message, <paramref name="state"/>) is true; returns null
    /// when <paramref name="timeout"/> passes first.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    /// <param name="state">Passed to <paramref name="match"/>.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(Func<object, object?, bool> match, object? state, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return ReceiveCore(match, state, ToMilliseconds(timeout));
    }

    /// <summary>Selective receive without a timeout: waits for the oldest message that <paramref name="match"/> accepts.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    public ValueTask<object> ReceiveAsync(Func<object, bool> match)
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
        _reductions = 0;
        Volatile.Write(ref _schedule, Running);
        if (_body is { } body)
        {
            _body = null;
            RunBody(body);
        }
        else
        {
            Resume();
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
            task = body(this);
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
            _bodyTask = task;
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnBodyCompleted);
        }
    }

    private void OnBodyCompleted() => Finish(_bodyTask!);

    private void Finish(Task task)
    {
        _bodyTask = null;
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
