using System.Runtime.ExceptionServices;

namespace Heirloom.Processes;

/// <summary>Termination: the steps of an exit, and the delivery of exit signals along links without recursion.</summary>
internal sealed partial class Process
{
    // The exits under way on this thread whose links are still being signalled, innermost on top; null when this thread
    // runs no exit. An exit signal that ends a linked process pushes that process's exit here instead of running it on
    // the stack, so a chain of a million linked processes dies in a loop, not a million nested calls.
    [ThreadStatic]
    private static Stack<ExitInProgress>? t_exitsUnderWay;

    /// <summary>
    /// Ends the process once: it is dead to everyone from the moment the reason is set. Then, in ETS's order,
    /// its tables pass to their heirs, its name is freed, linked processes get exit signals, monitors fire, and a
    /// parked body is woken so that it unwinds. Returns false when the process had already exited. A
    /// <paramref name="crash"/> (the body's unhandled exception) is reported first, and only by the call that ended
    /// the process.
    /// </summary>
    /// <remarks>
    /// The exits that link signals cause run depth first, as nested calls would run them, but from a loop: a linked
    /// process's exit finishes (its own links signalled, its monitors fired) before the exit that caused it fires its
    /// monitors. When this returns to a caller that runs no other exit, every exit it caused has finished.
    /// </remarks>
    internal bool Terminate(ExitReason reason, Exception? crash = null)
    {
        Relations? relations;
        lock (SyncRoot)
        {
            if (_exitReason is not null)
            {
                return false;
            }

            _exitReason = reason;
            (relations, _relations) = (_relations, null);
        }

        // An exit, once begun, always finishes (links signalled, monitors fired, waiters answered), even when a hook
        // of what the process owned throws: the failure is rethrown only after that, so that no waiter for this exit,
        // or for the exits it causes, waits for ever.
        ExceptionDispatchInfo? failure = null;
        try
        {
            BeginExit(relations, reason, crash);
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }

        if (relations?.Links is not { Count: > 0 } links)
        {
            FinishExit(relations, reason);
        }
        else if (t_exitsUnderWay is { } underWay)
        {
            // The outermost exit on this thread signals this one's links and finishes it, after this call returns.
            underWay.Push(new ExitInProgress(this, reason, relations, links));
        }
        else
        {
            RunExits(new ExitInProgress(this, reason, relations, links));
        }

        failure?.Throw();
        return true;
    }

    /// <summary>Runs an exit and every exit its link signals cause, innermost first, from one loop.</summary>
    private static void RunExits(ExitInProgress outermost)
    {
        var underWay = t_exitsUnderWay = new Stack<ExitInProgress>();
        underWay.Push(outermost);
        ExceptionDispatchInfo? failure = null;
        try
        {
            while (underWay.TryPeek(out var exit))
            {
                try
                {
                    Step(underWay, exit);
                }
                catch (Exception e)
                {
                    // A hook that threw in a linked process's exit; the exits under way still finish, then it is rethrown.
                    failure ??= ExceptionDispatchInfo.Capture(e);
                }
            }
        }
        finally
        {
            t_exitsUnderWay = null;
        }

        failure?.Throw();
    }

    /// <summary>Signals the next link of the exit on top, or finishes it once it has none left.</summary>
    private static void Step(Stack<ExitInProgress> underWay, ExitInProgress exit)
    {
        if (exit.TryTakeLink(out var linked))
        {
            exit.Process.SignalLinked(linked, exit.Reason);
            return;
        }

        underWay.Pop();
        exit.Process.FinishExit(exit.Relations, exit.Reason);
    }

    /// <summary>What an exit does before anyone is told: the crash report, the tables passed on, the name freed (and
    /// awaited, for a crashed process that hands its messages on), the monitors this process held dropped.</summary>
    private void BeginExit(Relations? relations, ExitReason reason, Exception? crash)
    {
        // A crash is reported before anything can observe the exit, so whoever sees it can also see the report.
        if (crash is not null)
        {
            Node.Report(new CrashReport(Self, relations?.Name, crash) { Behaviour = Behaviour });
        }

        // ETS's order: tables pass to their heirs before anyone can see the EXIT or DOWN of this process.
        if (relations?.Owned is { } owned)
        {
            foreach (var resource in owned)
            {
                resource.OnOwnerExit(this);
            }
        }

        if (relations?.Name is { } name)
        {
            if (HandsOnMessages && !reason.IsNormalOrShutdown)
            {
                // Before the name is freed: a caller that finds it free finds it awaited.
                Node.Succession.Await(name);
            }

            Node.Names.TryRemove(new KeyValuePair<string, Process>(name, this));
        }

        EndCallMonitor();
        if (relations?.Monitors is { } monitors)
        {
            foreach (var (reference, target) in monitors)
            {
                target.RemoveWatcher(reference);
            }
        }
    }

    /// <summary>Breaks the link to <paramref name="linked"/> from its side and sends it this process's exit signal.</summary>
    private void SignalLinked(Process linked, ExitReason reason)
    {
        lock (linked.SyncRoot)
        {
            linked._relations?.Links?.Remove(this);
        }

        linked.ReceiveExitSignal(Self, reason, fromLink: true);
    }

    /// <summary>What an exit does once its links are signalled: monitors fire, the node forgets the process, waiters
    /// for the exit are answered, and a parked body is woken.</summary>
    private void FinishExit(Relations? relations, ExitReason reason)
    {
        if (relations?.Watchers is { } watchers)
        {
            foreach (var (reference, watcher) in watchers)
            {
                watcher.Notify(reference, this, reason);
            }
        }

        Node.Forget(this);
        if (relations?.Exited is { } exited)
        {
            Node.Scheduler.Complete(exited, reason);
        }

        // Waiters that came while the exit was under way (see WhenExited); no lock, as most processes have none.
        _exitFinished = true;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _relations)?.Exited is { } late)
        {
            Node.Scheduler.Complete(late, reason);
        }

        // A body parked in a receive is woken to throw ProcessExitException, so its finally blocks run.
        Wake();
    }

    /// <summary>An exit whose linked processes are being signalled, one at a time.</summary>
    private sealed class ExitInProgress(Process process, ExitReason reason, Relations relations, HashSet<Process> links)
    {
        // The set is the exiting process's own, taken away from it under its lock: nothing else changes it any more.
        private HashSet<Process>.Enumerator _links = links.GetEnumerator();

        public Process Process { get; } = process;

        public ExitReason Reason { get; } = reason;

        public Relations Relations { get; } = relations;

        public bool TryTakeLink(out Process linked)
        {
            var more = _links.MoveNext();
            linked = more ? _links.Current : null!;
            return more;
        }
    }
}
