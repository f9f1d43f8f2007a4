using System.Diagnostics;

namespace Heirloom.Processes;

/// <summary>Links, monitors, exit signals, names and termination.</summary>
internal sealed partial class Process
{
    // Fields below are guarded by lock (SyncRoot). A process's exit is one transition of _exitReason from null,
    // taken under the lock; everything linked or monitored after it sees the process dead.
    private volatile ExitReason? _exitReason;
    private volatile bool _trapExit;

    // Whether messages left in the mailbox at exit are handed on (see HandsOnMessages).
    private volatile bool _handsOnMessages;

    // True once Terminate has done everything an exit does: a waiter for the exit is answered only then, so one that sees
    // it also sees the tables passed on, the links and monitors signalled, the name free and the process gone from
    // the node's list. A bool, not an int, so that it packs beside the other flags (an int made a process 8 B larger).
    private volatile bool _exitFinished;

    // Links, monitors, the name and what the process owns, made on first use: most processes never have any, and an
    // idle process's size is what a million of them cost. Taken away whole when the process exits.
    private Relations? _relations;

    internal bool IsAlive => _exitReason is null;

    /// <summary>The exit reason; null while the process is alive.</summary>
    internal ExitReason? ExitedWith => _exitReason;

    /// <summary>
    /// Whether the process hands on what it leaves unreceived when it crashes: its <see cref="IHandedOnMessage"/>s are
    /// told of the exit, and its registered name is awaited (<see cref="NameSuccession"/>) until registered again.
    /// </summary>
    internal bool HandsOnMessages
    {
        get => _handsOnMessages;
        set => _handsOnMessages = value;
    }

    internal string? RegisteredName => _relations?.Name;

    // Guarded by lock (SyncRoot), as everything in it.
    private Relations Related => _relations ??= new();

    /// <summary>The contract is <see cref="ProcessContext.Link(Pid)"/>'s.</summary>
    internal void LinkCore(Pid pid)
    {
        var other = ResolveLocal(pid);
        if (other == this)
        {
            return;
        }

        // As OTP 25's link/1: a trapping caller gets the EXIT as a message; any other gets a catchable error, and
        // goes on running.
        if (!TryLink(this, other))
        {
            if (!_trapExit)
            {
                throw new NoProcessException(pid, $"Cannot link to {pid}: the process is not alive (noproc).");
            }

            Deliver(new ExitSignal(pid, ExitReason.NoProc));
        }
    }

    /// <summary>The contract is <see cref="ProcessContext.Unlink(Pid)"/>'s.</summary>
    internal void UnlinkCore(Pid pid)
    {
        var other = ResolveLocal(pid);
        var (first, second) = LockOrder(this, other);
        lock (first)
        {
            lock (second)
            {
                _relations?.Links?.Remove(other);
                other._relations?.Links?.Remove(this);
            }
        }
    }

    /// <summary>The contract is <see cref="ProcessContext.Monitor(Pid)"/>'s.</summary>
    internal MonitorRef MonitorCore(Pid pid)
    {
        var target = ResolveLocal(pid);
        var reference = Node.NewMonitorRef();
        AddMonitorHeld(reference, target);

        if (!target.AddWatcher(reference, this))
        {
            Deliver(new Down(reference, pid, ExitReason.NoProc));
        }

        return reference;
    }

    /// <summary>The contract is <see cref="ProcessContext.Monitor(string)"/>'s.</summary>
    internal MonitorRef MonitorCore(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var reference = Node.NewMonitorRef();
        var target = Node.Names.GetValueOrDefault(name);

        // With no process of that name, the monitor is held against this process, so that its Down is received.
        AddMonitorHeld(reference, target ?? this);
        if (target is null || !target.AddWatcher(reference, this, name))
        {
            Deliver(new Down(reference, Pid.None, ExitReason.NoProc) { Name = name });
        }

        return reference;
    }

    /// <summary>The contract is <see cref="ProcessContext.Demonitor(MonitorRef, bool)"/>'s.</summary>
    internal bool DemonitorCore(MonitorRef reference, bool flush)
    {
        Process? target;
        lock (SyncRoot)
        {
            if (_relations?.Monitors is not { } monitors || !monitors.TryGetValue(reference, out target))
            {
                return false;
            }
        }

        var removed = target.RemoveWatcher(reference);
        if (removed || flush)
        {
            // A Down whose monitor is no longer held is dropped by the receive path.
            lock (SyncRoot)
            {
                _relations?.Monitors?.Remove(reference);
            }
        }

        return removed;
    }

    /// <summary>The contract is <see cref="ProcessContext.Exit(Pid, ExitReason)"/>'s.</summary>
    internal void ExitCore(Pid pid, ExitReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var target = pid.Resolve();
        if (target == this && reason.IsNormal && !_trapExit)
        {
            // OTP: a normal exit signal to oneself ends the caller unless it traps exits; a trapping caller gets
            // {'EXIT', Self, normal} as any normal signal.
            Terminate(ExitReason.Normal);
            return;
        }

        target.ReceiveExitSignal(Self, reason, fromLink: false);
    }

    internal void ReceiveExitSignal(Pid from, ExitReason reason, bool fromLink)
    {
        if (!IsAlive)
        {
            return;
        }

        if (reason.Kind == ExitReasonKind.Kill && !fromLink)
        {
            Terminate(ExitReason.Killed);
        }
        else if (_trapExit)
        {
            Deliver(new ExitSignal(from, reason));
        }
        else if (!reason.IsNormal)
        {
            Terminate(reason);
        }
    }

    internal void Register(string name)
    {
        lock (SyncRoot)
        {
            if (!IsAlive)
            {
                throw new NoProcessException(Self, $"Cannot register '{name}': process {Self} has exited.");
            }

            if (_relations?.Name is { } registered)
            {
                throw new NameTakenException(name, $"Cannot register '{name}': process {Self} is already registered as '{registered}'.");
            }

            if (!Node.Names.TryAdd(name, this))
            {
                throw new NameTakenException(name, $"Cannot register '{name}': the name is taken by {Node.Names.GetValueOrDefault(name)?.Self}.");
            }

            Related.Name = name;
        }

        Node.OnRegistered(name, this);
    }

    /// <summary>The contract is <see cref="ProcessContext.WatchName(string)"/>'s.</summary>
    internal void WatchNameCore(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Node.WatchName(name, this);
    }

    internal void ForgetName(string name)
    {
        lock (SyncRoot)
        {
            if (_relations is { } relations && relations.Name == name)
            {
                relations.Name = null;
            }
        }
    }

    /// <summary>Records something as owned by this process; false once it has exited, so nothing is ever given to the dead.</summary>
    internal bool TryAddOwned(IProcessOwned owned)
    {
        lock (SyncRoot)
        {
            if (!IsAlive)
            {
                return false;
            }

            (Related.Owned ??= []).Add(owned);
            return true;
        }
    }

    internal void RemoveOwned(IProcessOwned owned)
    {
        lock (SyncRoot)
        {
            _relations?.Owned?.Remove(owned);
        }
    }

    internal Task<ExitReason> WhenExited()
    {
        lock (SyncRoot)
        {
            if (_exitFinished)
            {
                return Task.FromResult(_exitReason!);
            }

            // Also while the exit is under way. The fence pairs with the one ending Terminate: either Terminate sees
            // this waiter and answers it, or this waiter sees the exit finished (or both).
            var exited = Related.Exited ??= Node.Scheduler.NewCompletion<ExitReason>();
            Interlocked.MemoryBarrier();
            if (_exitFinished)
            {
                Node.Scheduler.Complete(exited, _exitReason!);
            }

            return exited.Task;
        }
    }

    // Messages this process took from its mailbox and sent; each counted by the process itself, on its own run.
    private long _received;
    private long _sent;

    // What the process runs (a GenServer's type, say); set once, by the process, when its behaviour starts. A field
    // (8 bytes a process) rather than a table beside the processes: an entry per start cost more than the restart
    // path could spare.
    private Type? _behaviour;

    /// <summary>The behaviour this process runs, if any (see <see cref="ProcessInfo.Behaviour"/>), also once it has
    /// exited (a manager checks a worker's types after it may have died).</summary>
    internal Type? Behaviour => Volatile.Read(ref _behaviour);

    /// <summary>Messages taken from the mailbox so far.</summary>
    internal long MessagesIn => Volatile.Read(ref _received);

    /// <summary>Counts a message this process sends; called on its own run.</summary>
    internal void CountSent() => _sent++;

    /// <summary>Records the behaviour this process runs, for <see cref="ProcessInfo.Behaviour"/>.</summary>
    internal void SetBehaviour(Type behaviour) => Volatile.Write(ref _behaviour, behaviour);

    internal ProcessInfo GetInfo()
    {
        lock (SyncRoot)
        {
            return new ProcessInfo(
                Self,
                Status,
                _relations?.Name,
                _relations?.Links?.Select(p => p.Self).ToArray() ?? [],
                _relations?.Monitors?.Values.Select(p => p.Self).ToArray() ?? [],
                _relations?.Watchers?.Values.Where(w => w.Target is Process).Select(w => ((Process)w.Target).Self).ToArray() ?? [],
                MessageQueueLength,
                _trapExit,
                Parent,
                Behaviour,
                Volatile.Read(ref _received),
                Volatile.Read(ref _sent));
        }
    }

    internal static bool TryLink(Process a, Process b)
    {
        var (first, second) = LockOrder(a, b);
        lock (first)
        {
            lock (second)
            {
                if (!a.IsAlive || !b.IsAlive)
                {
                    return false;
                }

                (a.Related.Links ??= []).Add(b);
                (b.Related.Links ??= []).Add(a);
                return true;
            }
        }
    }

    internal bool AddWatcher(MonitorRef reference, Process watcher, string? byName = null) => AddWatcher(reference, new Watcher(watcher, byName));

    /// <summary>Watches this process from outside any process: <paramref name="observer"/> is told of the exit where a
    /// monitoring process would get its Down. False when the process has exited (or is exiting) already.</summary>
    internal bool AddWatcher(MonitorRef reference, IExitObserver observer) => AddWatcher(reference, new Watcher(observer, ByName: null));

    private bool AddWatcher(MonitorRef reference, Watcher watcher)
    {
        lock (SyncRoot)
        {
            if (!IsAlive)
            {
                return false;
            }

            (Related.Watchers ??= [])[reference] = watcher;

            return true;
        }
    }

    internal bool RemoveWatcher(MonitorRef reference)
    {
        lock (SyncRoot)
        {
            return _relations?.Watchers is { } watchers && watchers.Remove(reference);
        }
    }

    /// <summary>A Down is stale when its monitor is no longer held (flushed by <see cref="DemonitorCore"/>);
    /// stale Downs are dropped, never received.</summary>
    private bool IsStale(object message)
    {
        if (message is not Down down)
        {
            return false;
        }

        if (_wait is { } wait && down.Ref == wait.CallRef && Volatile.Read(ref wait.CallTarget) is not null)
        {
            return false;
        }

        lock (SyncRoot)
        {
            return _relations?.Monitors is not { } monitors || !monitors.ContainsKey(down.Ref);
        }
    }

    /// <summary>Receiving a Down ends its monitor, so each monitor fires exactly once.</summary>
    private void OnTaken(object message)
    {
        _received++;
        if (message is Down down)
        {
            if (_wait is { } wait && down.Ref == wait.CallRef)
            {
                Volatile.Write(ref wait.CallTarget, null);
                return;
            }

            lock (SyncRoot)
            {
                _relations?.Monitors?.Remove(down.Ref);
            }
        }
    }

    /// <summary>Monitors the target of a call: <see cref="Down"/> arrives as for <see cref="MonitorCore(Pid)"/>, and
    /// <see cref="EndCallMonitor"/> removes it with the same no-stray-Down guarantee as a flushing demonitor.</summary>
    internal MonitorRef MonitorCall(Process target)
    {
        var wait = Wait;
        Debug.Assert(wait.CallTarget is null, "A process makes one call at a time.");
        var reference = Node.NewMonitorRef();
        wait.CallRef = reference;
        Volatile.Write(ref wait.CallTarget, target);
        if (!target.AddWatcher(reference, this))
        {
            Deliver(new Down(reference, target.Self, ExitReason.NoProc));
        }

        return reference;
    }

    /// <summary>Ends the call's monitor; a Down for it that is already on its way is then dropped as stale.</summary>
    internal void EndCallMonitor()
    {
        if (Volatile.Read(ref _wait) is { } wait)
        {
            Interlocked.Exchange(ref wait.CallTarget, null)?.RemoveWatcher(wait.CallRef);
        }
    }

    internal void AddMonitorHeld(MonitorRef reference, Process target)
    {
        lock (SyncRoot)
        {
            (Related.Monitors ??= [])[reference] = target;
        }
    }

    private Process ResolveLocal(Pid pid)
    {
        var other = pid.Resolve();
        if (other.Node != Node)
        {
            throw new ArgumentException($"Process {pid} lives on another node; links and monitors work within one node.", nameof(pid));
        }

        return other;
    }

    // Two processes' locks in the one order every thread takes them in; the same lock twice when they share a stripe
    // (a monitor is reentrant).
    private static (object First, object Second) LockOrder(Process a, Process b) =>
        a.LockStripe <= b.LockStripe ? (a.SyncRoot, b.SyncRoot) : (b.SyncRoot, a.SyncRoot);

    // The locks guarding links, monitors, the name and owned resources, shared by stripes of processes: a lock per
    // process would add an object to every process, and the sections they guard are short and never take another
    // lock (but in LockOrder's order), so sharing costs only rare contention between unrelated processes.
    private static readonly object[] s_locks = [.. Enumerable.Range(0, 1024).Select(_ => new object())];

    private int LockStripe => (int)Serial & (s_locks.Length - 1);

    private object SyncRoot => s_locks[LockStripe];

    /// <summary>A process monitoring this one (or an <see cref="IExitObserver"/> outside processes), and the registered
    /// name it monitors it by (OTP's <c>monitor(process, Name)</c>), which its Down carries; null for a monitor by pid.</summary>
    private readonly record struct Watcher(object Target, string? ByName)
    {
        public void Notify(MonitorRef reference, Process exited, ExitReason reason)
        {
            if (Target is Process process)
            {
                process.Deliver(new Down(reference, exited.Self, reason) { Name = ByName });
            }
            else
            {
                ((IExitObserver)Target).OnExit(reference, exited.Self, reason);
            }
        }
    }

    /// <summary>What a process is related to: its links, the monitors it holds and those held on it, its registered
    /// name, what it owns (its tables, passed on or released first thing when it exits) and who waits for its exit.</summary>
    private sealed class Relations
    {
        public HashSet<Process>? Links;
        public Dictionary<MonitorRef, Watcher>? Watchers;
        public Dictionary<MonitorRef, Process>? Monitors;
        public string? Name;
        public List<IProcessOwned>? Owned;
        public TaskCompletionSource<ExitReason>? Exited;
    }
}
