using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// The caller of a <see cref="GenServer"/> call, to reply to (Erlang's <c>From</c>). A handler may keep it and reply
/// later, from any code. Each call gets exactly one reply at most; once the caller has given up (timeout,
/// cancellation), a late reply is dropped instead of reaching the caller as a stray message, and a call the server had
/// not yet started is never started. A call made by registered name to a server that hands its queued calls on
/// (<see cref="QueuedCallsOnCrash.HandToSuccessor"/>) outlives that server's crash while not started: it goes to the
/// next process registered under the name.
/// </summary>
public sealed class CallFrom : IExitObserver, IHandedOnMessage
{
    // Pending -> Started (the server's loop, one CAS just before the handler runs) -> Replied (a reply was claimed and
    // is on its way). The caller's give-up moves any state but Replied to Abandoned; a server that finds the call's
    // deadline passed moves Pending (or Orphaned) to Expired and skips it. Replied and Abandoned are final: whichever CAS
    // reaches one of them decides the call's outcome, so the caller always knows whether the handler had begun.
    // A call by name whose server crashed before starting it moves Pending -> Orphaned (it is on its way to the name's
    // next holder, whose loop moves it Orphaned -> Resumed instead of Started). A handler that promises a reply which
    // does not need the server (ReplyWhenDurable) moves Started or Resumed -> Deferred: the server's exit no longer
    // fails the call; the reply, a failure, or the caller's deadline ends it.
    private const int Pending = 0;
    private const int Started = 1;
    private const int Replied = 2;
    private const int Expired = 3;
    private const int Abandoned = 4;
    private const int Orphaned = 5;
    private const int Resumed = 6;
    private const int Deferred = 7;

    private readonly OutsideCall? _outsideCaller;
    private int _state;

    // The request until the server takes it, then, for a caller in a process, the reply (or a Failure) until the
    // caller takes it: the CallFrom is itself the message a call sends and the message its answer comes back in, two
    // objects fewer per call, and a handler that keeps it to reply later does not keep the request alive. The server
    // takes the request before it can reply, and an answer is written before the CallFrom is delivered back, so the
    // two never overlap.
    private object? _payload;

    // The successor that resumed a handed-on call watches itself for it, since the caller's own watch (its monitor,
    // or an outside caller's watcher) was on the first server. Set before the CAS to Resumed, read after a final CAS.
    private Process? _resumedBy;
    private MonitorRef _resumedWatch;

    internal CallFrom(Pid caller, object request, long deadline, string? serverName = null, bool orphaned = false)
    {
        Caller = caller;
        _payload = request;
        Deadline = deadline;
        ServerName = serverName;
        _state = orphaned ? Orphaned : Pending;
    }

    internal CallFrom(OutsideCall outsideCaller, object request, long deadline, string? serverName = null, bool orphaned = false)
    {
        _outsideCaller = outsideCaller;
        _payload = request;
        Deadline = deadline;
        ServerName = serverName;
        _state = orphaned ? Orphaned : Pending;
    }

    /// <summary>The monitor the calling process holds on the server for this call.</summary>
    internal MonitorRef Monitor { get; init; }

    /// <summary>When the caller gives up (a timestamp of the node's <see cref="Node.TimeProvider"/>);
    /// <see cref="long.MaxValue"/> for never.
    /// It travels with the call so that the server can skip a call whose caller is about to stop waiting.</summary>
    internal long Deadline { get; }

    /// <summary>The registered name the caller called the server by; null for a call by pid, which is never handed on.</summary>
    internal string? ServerName { get; }

    /// <summary>The calling process; <see cref="Pid.None"/> when the call came from outside any process.</summary>
    public Pid Caller { get; }

    /// <summary>Whether the call is settled: answered, given up, or skipped.</summary>
    bool IHandedOnMessage.IsSettled => Volatile.Read(ref _state) is Replied or Abandoned or Expired;

    /// <summary>Sends the reply.</summary>
    /// <param name="value">The reply; null is a valid reply.</param>
    /// <returns>True when the reply was sent; false when this call was already replied to or its caller gave up.</returns>
    public bool Reply(object? value)
    {
        // A killed server sends nothing, as in OTP, so the caller sees the server's exit instead; a reply deferred
        // beyond the server (ReplyWhenDurable) is the exception. Claiming the reply before sending it is what lets a
        // caller giving up know whether a reply is on its way; once claimed, the reply is delivered even if the server
        // is killed meanwhile, since the caller now waits for it.
        if ((Process.CurrentProcess is { IsAlive: false } && Volatile.Read(ref _state) != Deferred) || !TryClaimReply())
        {
            return false;
        }

        if (_outsideCaller is not null)
        {
            _outsideCaller.Complete(this, value);
        }
        else
        {
            _payload = value;
            Caller.Resolve().Deliver(this);
        }

        return true;
    }

    private bool TryClaimReply()
    {
        var state = Volatile.Read(ref _state);
        while (state is Pending or Started or Resumed or Deferred)
        {
            var seen = Interlocked.CompareExchange(ref _state, Replied, state);
            if (seen == state)
            {
                EndResumedWatch();
                return true;
            }

            state = seen;
        }

        return false;
    }

    /// <summary>
    /// The server's loop takes the call and its request, just before its handler runs: false when the caller has given
    /// up or the deadline has passed, and then the call is never handled; false too when the server is dead (a killed
    /// server's code runs on until its next receive), and then a call that may be handed on goes to the name's next
    /// holder.
    /// </summary>
    internal bool TryStart(Process server, out object request)
    {
        request = null!;
        var state = Volatile.Read(ref _state);
        if (state is not (Pending or Orphaned))
        {
            return false;
        }

        if (Deadline != long.MaxValue && server.Node.TimeProvider.GetTimestamp() >= Deadline)
        {
            // The caller stops waiting at its deadline: a handler started now would run for nobody. The caller is told
            // "not started" when its own give-up comes.
            Interlocked.CompareExchange(ref _state, Expired, state);
            return false;
        }

        if (server.ExitedWith is { } reason)
        {
            // The caller's watch may have orphaned the call since it was read as pending: it was taken out of the
            // mailbox, so no one but this loop hands it on either way.
            if (state == Pending && CanBeHandedOn(server, reason))
            {
                state = Orphan();
            }

            if (state == Orphaned)
            {
                server.Node.Succession.HandOn(ServerName!, this);
            }

            return false;
        }

        if (state == Orphaned && !WatchResumed(server))
        {
            server.Node.Succession.HandOn(ServerName!, this);
            return false;
        }

        // Only the server's loop takes the request, once; it reads it before the CAS that publishes Started.
        var taken = _payload!;
        _payload = null;
        var seen = Interlocked.CompareExchange(ref _state, state == Pending ? Started : Resumed, state);
        if (seen == state)
        {
            // A successor that exits after this check is seen by its watch, which finds the call resumed and fails it.
            if (state == Pending || server.ExitedWith is null)
            {
                request = taken;
                return true;
            }

            // The successor died after its watch was added and before it resumed the call, so its exit may have found
            // the call still orphaned and done nothing: the call, not started, goes on unless settled meanwhile.
            if (Interlocked.CompareExchange(ref _state, Orphaned, Resumed) == Resumed)
            {
                EndResumedWatch();
                _payload = taken;
                server.Node.Succession.HandOn(ServerName!, this);
            }

            return false;
        }

        if (seen == Orphaned)
        {
            // The server died between the check and the CAS, and the caller's watch orphaned the call; it was taken out
            // of the mailbox, so no one else hands it on.
            _payload = taken;
            server.Node.Succession.HandOn(ServerName!, this);
        }

        EndResumedWatch();
        return false;
    }

    /// <summary>Moves a pending call to Orphaned, on its way to the name's next holder; returns the state the call is in
    /// now (Orphaned, or whatever another party moved it to first).</summary>
    private int Orphan() => Interlocked.CompareExchange(ref _state, Orphaned, Pending) is var seen && seen == Pending ? Orphaned : seen;

    /// <summary>A successor resuming a handed-on call watches itself for it: its exit while handling the call fails
    /// the call, as the first server's would have. False when the successor is dead already.</summary>
    private bool WatchResumed(Process server)
    {
        var reference = server.Node.NewMonitorRef();
        _resumedWatch = reference;
        _resumedBy = server;
        if (server.AddWatcher(reference, this))
        {
            return true;
        }

        _resumedBy = null;
        return false;
    }

    private void EndResumedWatch() => _resumedBy?.RemoveWatcher(_resumedWatch);

    /// <summary>Whether this call, still in the mailbox of <paramref name="server"/> when it exited with
    /// <paramref name="reason"/>, goes to the name's next holder: a call by name with a deadline, to a server that hands
    /// its queued calls on, which crashed (a server stopped on purpose has no successor to wait for).</summary>
    private bool CanBeHandedOn(Process server, ExitReason reason) =>
        ServerName is not null && Deadline != long.MaxValue && server.HandsOnMessages && !reason.IsNormalOrShutdown;

    /// <summary>A handler promises a reply that does not need the server (it comes when writes are durable): from now
    /// on the server's exit does not fail the call. False when the caller has given up already.</summary>
    internal bool TryDefer()
    {
        var state = Volatile.Read(ref _state);
        return state is Started or Resumed && Interlocked.CompareExchange(ref _state, Deferred, state) == state;
    }

    /// <summary>
    /// The server the caller sent the call to exited (the caller's monitor or watcher fired): null when the caller goes
    /// on waiting, because the call was handed on (or is being), or its reply no longer needs the server; otherwise
    /// the caller's give-up, as <see cref="TryGiveUp"/>.
    /// </summary>
    internal CallGiveUp? OnFirstServerExit(Process server, ExitReason reason)
    {
        var state = Volatile.Read(ref _state);
        while (true)
        {
            if (state is Orphaned or Resumed or Deferred)
            {
                return null;
            }

            if (state != Pending || !CanBeHandedOn(server, reason))
            {
                return TryGiveUp();
            }

            var seen = Interlocked.CompareExchange(ref _state, Orphaned, Pending);
            if (seen == Pending)
            {
                return null;
            }

            state = seen;
        }
    }

    /// <summary>The caller gives up (its timeout, its token, the server's exit): says whether the handler had begun,
    /// or that it is too late because a reply was claimed (it is on its way) or another give-up came first.</summary>
    internal CallGiveUp TryGiveUp()
    {
        var state = Volatile.Read(ref _state);
        while (state is not (Replied or Abandoned))
        {
            var seen = Interlocked.CompareExchange(ref _state, Abandoned, state);
            if (seen == state)
            {
                EndResumedWatch();
                return state is Started or Resumed or Deferred ? CallGiveUp.Started : CallGiveUp.NotStarted;
            }

            state = seen;
        }

        return CallGiveUp.TooLate;
    }

    /// <summary>The call fails from the server's side (its successor's exit, a deferred reply that cannot come, no
    /// successor for a handed-on call): the caller is answered with the failure, unless it has settled already.</summary>
    internal void Fail(Pid server, ExitReason reason)
    {
        var gaveUp = TryGiveUp();
        if (gaveUp == CallGiveUp.TooLate)
        {
            return;
        }

        var started = gaveUp == CallGiveUp.Started;
        if (_outsideCaller is not null)
        {
            _outsideCaller.Failed(this, server, reason, started);
        }
        else
        {
            _payload = new Failure(server, reason, started);
            Caller.Resolve().Deliver(this);
        }
    }

    /// <summary>The answer, for the calling process that received this CallFrom back (see <see cref="Reply"/>).</summary>
    /// <exception cref="CallFailedException">The call failed from the server's side (see <see cref="Fail"/>).</exception>
    internal object? TakeReply()
    {
        var reply = _payload;
        _payload = null;
        if (reply is Failure failure)
        {
            throw new CallFailedException(failure.Server, ServerName, failure.Reason, failure.Started);
        }

        return reply;
    }

    /// <summary>The caller's cancellation token fired: a caller outside processes stops waiting at once, unless a reply
    /// was already claimed; a caller in a process is woken by a <see cref="CallCancelled"/> and decides there.</summary>
    internal void Cancel(CancellationToken token)
    {
        if (_outsideCaller is not null)
        {
            _outsideCaller.Cancel(this, token);
        }
        else
        {
            Caller.Resolve().Deliver(new CallCancelled(this));
        }
    }

    /// <summary>A server watched for this call exited: the successor that resumed it (whose exit fails a call it
    /// started), or the first server of a caller outside processes.</summary>
    void IExitObserver.OnExit(MonitorRef reference, Pid pid, ExitReason reason)
    {
        if (_resumedBy is not null && reference == _resumedWatch)
        {
            if (Volatile.Read(ref _state) == Resumed)
            {
                Fail(pid, reason);
            }

            return;
        }

        _outsideCaller?.ServerExited(this, pid.Resolve(), reason);
    }

    /// <summary>Left in the mailbox of a server that exited: a call that may be handed on goes to the name's next holder;
    /// any other is failed by its caller's watch on that server.</summary>
    void IHandedOnMessage.OnReceiverExited(Process receiver, ExitReason reason)
    {
        var state = Volatile.Read(ref _state);
        if (state == Pending && CanBeHandedOn(receiver, reason))
        {
            state = Orphan();
        }

        if (state == Orphaned)
        {
            receiver.Node.Succession.HandOn(ServerName!, this);
        }
    }

    /// <summary>The name has no successor: the call fails as not started.</summary>
    void IHandedOnMessage.NoSuccessor() => Fail(Pid.None, ExitReason.NoProc);

    /// <summary>The caller's deadline passed: a caller outside processes stops waiting, unless a reply was claimed.</summary>
    internal void DeadlinePassed() => _outsideCaller?.DeadlinePassed(this);

    /// <summary>A failure the server's side answers a calling process with, in place of a reply.</summary>
    private sealed record Failure(Pid Server, ExitReason Reason, bool Started);
}
