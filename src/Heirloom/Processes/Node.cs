using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Heirloom.Diagnostics;

namespace Heirloom.Processes;

/// <summary>
/// A running node: it owns processes and their registered names; the layers above (tables) attach to it as services.
/// Several nodes may live in one OS process. Disposing the node stops every process: each is told to exit with <see cref="ExitReason.Shutdown"/>,
/// processes spawned from outside any process (the roots of supervision trees) first, newest first; the node then
/// waits, bounded by <see cref="ShutdownTimeout"/>, and kills what is left.
/// </summary>
public sealed class Node : IAsyncDisposable
{
    private static int s_nextId;

    private readonly ProcessRegistry _processes = new();
    private readonly ConcurrentDictionary<Type, INodeService> _services = new();
    private readonly Lock _servicesLock = new();
    private long _nextSerial;
    private long _nextMonitorRef;
    private int _disposed;

    /// <summary>Starts a node whose metrics are on a meter of its own, disposed with the node.</summary>
    public Node()
        : this(meterFactory: null)
    {
    }

    /// <summary>Starts a node whose metrics (<see cref="HeirloomInstrumentation"/>) are on a meter made by
    /// <paramref name="meterFactory"/>: a host's <c>IMeterFactory</c>, so they are scoped to the host's container.</summary>
    /// <param name="meterFactory">Makes the meter; null for a meter of the node's own.</param>
    public Node(IMeterFactory? meterFactory)
    {
        Id = Interlocked.Increment(ref s_nextId) - 1;
        Metrics = new NodeMetrics(this, meterFactory);
    }

    /// <summary>The node's number, the first part of its pids' printed form.</summary>
    public int Id { get; }

    /// <summary>How long disposal waits for processes to exit after Shutdown before killing them. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The clock of everything time-bound on the node: receive timeouts, call timeouts and deadlines, timers
    /// (<see cref="ProcessContext.SendAfter(Pid, object, TimeSpan)"/>), supervisors' restart windows, the table manager's
    /// retries, the journal's flushes and fsyncs. Default <see cref="TimeProvider.System"/>; a test gives a provider
    /// whose time it advances itself, and then nothing on the node waits for real time to pass.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        init => _timeProvider = value ?? throw new ArgumentNullException(nameof(value), "Pass TimeProvider.System for real time.");
    }

    private readonly TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Where the node queues its work (see <see cref="NodeScheduler"/>); the thread pool unless a simulation
    /// sets its own before anything runs.</summary>
    internal NodeScheduler Scheduler { get; init; } = NodeScheduler.ThreadPool;

    /// <summary>The node's timers (<see cref="ProcessContext.SendAfter(Pid, object, TimeSpan)"/> and its kin).</summary>
    internal KernelTimers Timers => _timers ?? CreateTimers();

    private KernelTimers? _timers;

    private KernelTimers CreateTimers()
    {
        Interlocked.CompareExchange(ref _timers, new KernelTimers(this), null);
        return _timers;
    }

    internal NodeMetrics Metrics { get; }

    /// <summary>The processes alive now, in no order.</summary>
    internal IEnumerable<Process> LiveProcesses => _processes.Snapshot();

    /// <summary>Messages waiting in every process's mailbox.</summary>
    internal long QueuedMessages()
    {
        long queued = 0;
        foreach (var process in _processes.Snapshot())
        {
            queued += process.MessageQueueLength;
        }

        return queued;
    }

    /// <summary>
    /// Reports of crashes (a process ending with an unhandled exception) and, from supervisors, of restarts.
    /// Handlers run on the thread of the process that reports; an exception thrown by a handler is ignored.
    /// </summary>
    public event EventHandler<NodeReport>? Reported;

    /// <summary>How many processes are alive.</summary>
    public int ProcessCount => _processes.Count;

    internal ConcurrentDictionary<string, Process> Names { get; } = new(StringComparer.Ordinal);

    // Processes waiting for a name's next registration; guarded by lock (_nameWatchers).
    private readonly Dictionary<string, List<Process>> _nameWatchers = new(StringComparer.Ordinal);

    internal void WatchName(string name, Process watcher)
    {
        lock (_nameWatchers)
        {
            if (!_nameWatchers.TryGetValue(name, out var watchers))
            {
                _nameWatchers[name] = watchers = [];
            }

            if (!watchers.Contains(watcher))
            {
                watchers.Add(watcher);
            }
        }
    }

    /// <summary>The names awaited by messages handed on from a crashed holder.</summary>
    internal NameSuccession Succession => _succession ??= CreateSuccession();

    private NameSuccession? _succession;

    private NameSuccession CreateSuccession()
    {
        Interlocked.CompareExchange(ref _succession, new NameSuccession(this), null);
        return _succession;
    }

    internal void OnRegistered(string name, Process process)
    {
        Volatile.Read(ref _succession)?.OnRegistered(name, process);

        List<Process>? watchers;
        lock (_nameWatchers)
        {
            _nameWatchers.Remove(name, out watchers);
        }

        foreach (var watcher in watchers ?? [])
        {
            watcher.Deliver(new NameRegistered(name, process.Self));
        }
    }

    /// <summary>Spawns a process from outside any process; it has no parent.</summary>
    /// <param name="body">The process's code. When it returns the process exits with <see cref="ExitReason.Normal"/>;
    /// when it throws, with the exception as its reason.</param>
    /// <exception cref="ObjectDisposedException">The node has been disposed.</exception>
    public Pid Spawn(Func<ProcessContext, Task> body) => SpawnCore(body, default, link: null, monitor: null, out _);

    /// <summary>Sends a message; never blocks, never throws for a dead pid.</summary>
    /// <param name="pid">The receiver.</param>
    /// <param name="message">The message; may not be null.</param>
    public void Send(Pid pid, object message) => pid.Send(message);

    /// <summary>Sends a message to a registered name.</summary>
    /// <param name="name">The registered name.</param>
    /// <param name="message">The message; may not be null.</param>
    /// <exception cref="NoProcessException">No process is registered under <paramref name="name"/>.</exception>
    public void Send(string name, object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var pid = WhereIs(name);
        if (pid.IsNone)
        {
            throw new NoProcessException(Pid.None, $"No process is registered as '{name}'.");
        }

        pid.Send(message);
    }

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="pid"/> after <paramref name="delay"/> on
    /// <see cref="TimeProvider"/>, as <c>erlang:send_after/3</c>. The timer is cancelled when the target exits (a timer
    /// to a dead process is never delivered), and by <see cref="CancelTimer"/>.
    /// </summary>
    /// <param name="pid">The receiver.</param>
    /// <param name="message">The message; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, to cancel or read it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="pid"/> is <see cref="Pid.None"/>.</exception>
    public TimerRef SendAfter(Pid pid, object message, TimeSpan delay) => Timers.Start(pid.Resolve(), null, message, delay, wrap: false);

    /// <summary>
    /// Sends <paramref name="message"/>, after <paramref name="delay"/>, to the process registered as
    /// <paramref name="name"/> when the timer fires (nothing is sent if none is), as <c>erlang:send_after/3</c> with a
    /// registered name.
    /// </summary>
    /// <param name="name">The registered name, looked up when the timer fires.</param>
    /// <param name="message">The message; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, to cancel or read it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    public TimerRef SendAfter(string name, object message, TimeSpan delay)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Timers.Start(null, name, message, delay, wrap: false);
    }

    /// <summary>
    /// Starts a timer that sends <paramref name="pid"/> a <see cref="TimerFired"/> carrying the timer and
    /// <paramref name="message"/> after <paramref name="delay"/>, as <c>erlang:start_timer/3</c>. The timer is cancelled
    /// when the target exits.
    /// </summary>
    /// <param name="pid">The receiver.</param>
    /// <param name="message">The message the <see cref="TimerFired"/> carries; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, which the <see cref="TimerFired"/> names.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="pid"/> is <see cref="Pid.None"/>.</exception>
    public TimerRef StartTimer(Pid pid, object message, TimeSpan delay) => Timers.Start(pid.Resolve(), null, message, delay, wrap: true);

    /// <summary>
    /// Cancels a timer, as <c>erlang:cancel_timer/1</c>: the time that was left, or null when the timer had fired
    /// (its message may be in a mailbox already), was cancelled, ended with its target, or is unknown.
    /// </summary>
    /// <param name="timer">The timer.</param>
    /// <returns>The time that was left; null when there was no pending timer to cancel.</returns>
    public TimeSpan? CancelTimer(TimerRef timer) => Timers.Cancel(timer);

    /// <summary>The time left on a pending timer, as <c>erlang:read_timer/1</c>; null when it is not pending.</summary>
    /// <param name="timer">The timer.</param>
    public TimeSpan? ReadTimer(TimerRef timer) => Timers.Read(timer);

    /// <summary>
    /// Sends an exit signal from outside any process, as <c>erlang:exit(Pid, Reason)</c>; the
    /// <see cref="ExitSignal"/> a trapping target receives carries <see cref="Pid.None"/> as its sender.
    /// </summary>
    /// <param name="pid">The target.</param>
    /// <param name="reason">The signal's reason; <see cref="ExitReason.Kill"/> cannot be trapped.</param>
    public void Exit(Pid pid, ExitReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        pid.Resolve().ReceiveExitSignal(default, reason, fromLink: false);
    }

    /// <summary>Registers a name for a live process. A process has at most one name; it is freed when the process exits.</summary>
    /// <param name="name">The name.</param>
    /// <param name="pid">The process.</param>
    /// <exception cref="NameTakenException">The name is taken, or the process already has a name.</exception>
    /// <exception cref="NoProcessException">The process has exited.</exception>
    public void Register(string name, Pid pid)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var process = pid.Resolve();
        if (process.Node != this)
        {
            throw new ArgumentException($"Process {pid} lives on another node.", nameof(pid));
        }

        process.Register(name);
    }

    /// <summary>Removes a registered name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when the name was registered.</returns>
    public bool Unregister(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Names.TryRemove(name, out var process))
        {
            return false;
        }

        process.ForgetName(name);
        return true;
    }

    /// <summary>The process registered under a name, or <see cref="Pid.None"/> when no process has it.</summary>
    /// <param name="name">The name.</param>
    public Pid WhereIs(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Names.TryGetValue(name, out var process) ? process.Self : Pid.None;
    }

    /// <summary>The registered names and their processes, at this moment.</summary>
    public IReadOnlyDictionary<string, Pid> RegisteredNames() => Names.ToDictionary(pair => pair.Key, pair => pair.Value.Self);

    /// <summary>The live processes, at this moment, oldest first.</summary>
    public IReadOnlyList<Pid> Processes() => _processes.Snapshot().OrderBy(p => p.Serial).Select(p => p.Self).ToArray();

    /// <summary>A snapshot of one process: status, name, links, monitors, mailbox length; null once it has exited.</summary>
    /// <param name="pid">The process.</param>
    public ProcessInfo? GetProcessInfo(Pid pid)
    {
        var process = pid.Resolve();
        return process.IsAlive ? process.GetInfo() : null;
    }

    /// <summary>Completes with the process's exit reason once its exit has finished (at once for a dead process): its
    /// tables have passed to their heirs, its name is free, its links and monitors have been signalled, and it is no
    /// longer counted or listed. For code outside processes, such as tests and hosts; processes use
    /// <see cref="ProcessContext.Monitor(Pid)"/>.</summary>
    /// <param name="pid">The process.</param>
    public Task<ExitReason> WhenExited(Pid pid) => pid.Resolve().WhenExited();

    /// <summary>Stops every process (see <see cref="Node"/>) and waits for them, then stops the node's services (the
    /// tables left, those the node kept or owned, are deleted; a durable table closes its files, which stay). Calling
    /// it twice is harmless.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var roots = _processes.Snapshot().Where(p => p.Parent.IsNone || !p.Parent.IsAlive).OrderByDescending(p => p.Serial).ToArray();
        var deadline = _timeProvider.GetTimestamp() + DurationToTimestamp(ShutdownTimeout);
        await StopAsync(roots, deadline).ConfigureAwait(false);
        var rest = _processes.Snapshot().OrderByDescending(p => p.Serial).ToArray();
        await StopAsync(rest, deadline).ConfigureAwait(false);
        foreach (var process in _processes.Snapshot())
        {
            process.ReceiveExitSignal(default, ExitReason.Kill, fromLink: false);
        }

        Volatile.Read(ref _timers)?.CancelAll();
        foreach (var service in _services.Values)
        {
            service.OnNodeStopped();
        }

        Metrics.Dispose();
    }

    /// <summary>The node's instance of a service, created on first use.</summary>
    internal TService GetService<TService>(Func<Node, TService> create)
        where TService : class, INodeService
    {
        if (_services.TryGetValue(typeof(TService), out var service))
        {
            return (TService)service;
        }

        // Created once, under a lock: a service may register instruments or other services, which must not be made
        // twice by a race (the lock is reentrant, so a service's constructor may ask for another).
        lock (_servicesLock)
        {
            if (!_services.TryGetValue(typeof(TService), out service))
            {
                service = create(this);
                _services[typeof(TService)] = service;
            }

            return (TService)service;
        }
    }

    internal Pid SpawnCore(Func<ProcessContext, Task> body, Pid parent, Process? link, Process? monitor, out MonitorRef monitorRef)
    {
        ArgumentNullException.ThrowIfNull(body);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var process = new Process(this, Interlocked.Increment(ref _nextSerial), body, parent);
        _processes.Add(process);
        monitorRef = default;
        if (link is not null && !Process.TryLink(link, process))
        {
            // The spawning process died before the child ran: the child dies with it, as in Erlang.
            process.Terminate(ExitReason.NoProc);
        }

        if (monitor is not null)
        {
            monitorRef = NewMonitorRef();
            monitor.AddMonitorHeld(monitorRef, process);
            if (!process.AddWatcher(monitorRef, monitor))
            {
                monitor.Deliver(new Down(monitorRef, process.Self, ExitReason.NoProc));
            }
        }

        process.Start();
        return process.Self;
    }

    internal MonitorRef NewMonitorRef() => new(Interlocked.Increment(ref _nextMonitorRef));

    internal void Forget(Process process) => _processes.Remove(process);

    internal void Report(NodeReport report)
    {
        if (report is CrashReport)
        {
            Metrics.OnCrash();
        }

        try
        {
            Reported?.Invoke(this, report);
        }
        catch (Exception)
        {
            // A reporting hook must never take a process or the thread pool down with it.
        }
    }

    /// <summary>Tells <paramref name="processes"/> to shut down and waits for them until <paramref name="deadline"/>
    /// (a timestamp of <see cref="TimeProvider"/>).</summary>
    private async Task StopAsync(Process[] processes, long deadline)
    {
        foreach (var process in processes)
        {
            process.ReceiveExitSignal(default, ExitReason.Shutdown, fromLink: false);
        }

        var remaining = _timeProvider.GetElapsedTime(_timeProvider.GetTimestamp(), deadline);
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        var all = Task.WhenAll(processes.Select(p => p.WhenExited()));
        await Task.WhenAny(all, Task.Delay(remaining, _timeProvider)).ConfigureAwait(false);
    }

    /// <summary><paramref name="duration"/> in ticks of <see cref="TimeProvider"/>'s timestamps, saturating at
    /// <see cref="long.MaxValue"/> for an infinite or too long one.</summary>
    internal long DurationToTimestamp(TimeSpan duration)
    {
        var ticks = duration.TotalSeconds * _timeProvider.TimestampFrequency;
        return duration == Timeout.InfiniteTimeSpan || ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks;
    }
}
