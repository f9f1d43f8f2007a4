using Heirloom.Processes;
using Stopwatch = System.Diagnostics.Stopwatch;

namespace Heirloom.Behaviours;

/// <summary>
/// The caller of a <see cref="GenServer"/> call, to reply to (Erlang's <c>From</c>). A handler may keep it and reply
/// later, from any code. Each call gets exactly one reply at most; once the caller has given up (timeout,
/// cancellation), a late reply is dropped instead of reaching the caller as a stray message, and a call the server had
/// not yet started is never started.
/// </summary>
public sealed class CallFrom : IExitObserver
{
    // Pending -> Started (the server's loop, one CAS just before the handler runs) -> Replied (a reply was claimed and
    // is on its way). The caller's give-up moves Pending, Started or Expired to Abandoned; a server that finds the call's
    // deadline passed moves Pending to Expired and skips it. Replied and Abandoned are final: whichever CAS reaches one
    // of them decides the call's outcome, so the caller always knows whether the handler had begun.
    private const int Pending = 0;
    private const int Started = 1;
    private const int Replied = 2;
    private const int Expired = 3;
    private const int Abandoned = 4;

    private readonly OutsideCall? _outsideCaller;
    private int _state;

    // The request until the server takes it, then, for a caller in a process, the reply until the caller takes it: the
    // CallFrom is itself the message a call sends and the message its reply comes back in, two objects fewer per call,
    // and a handler that keeps it to reply later does not keep the request alive. The server takes the request before
    // it can reply, and a reply is written before the CallFrom is delivered back, so the two never overlap.
    private object? _payload;

    internal CallFrom(Pid caller, object request, long deadline)
    {
        Caller = caller;
        _payload = request;
        Deadline = deadline;
    }

    internal CallFrom(OutsideCall outsideCaller, object request, long deadline)
    {
        _outsideCaller = outsideCaller;
        _payload = request;
        Deadline = deadline;
    }

    /// <summary>The monitor the calling process holds on the server for this call.</summary>
    internal MonitorRef Monitor { get; init; }

    /// <summary>When the caller gives up (a <see cref="Stopwatch"/> timestamp); <see cref="long.MaxValue"/> for never.
    /// It travels with the call so that the server can skip a call whose caller is about to stop waiting.</summary>
    internal long Deadline { get; }

    /// <summary>The calling process; <see cref="Pid.None"/> when the call came from outside any process.</summary>
    public Pid Caller { get; }

    /// <summary>Sends the reply.</summary>
    /// <param name="value">The reply; null is a valid reply.</param>
    /// <returns>True when the reply was sent; false when this call was already replied to or its caller gave up.</returns>
    public bool Reply(object? value)
    {
        // A killed server sends nothing, as in OTP, so the caller sees the server's exit instead. Claiming the reply
        // before sending it is what lets a caller giving up know whether a reply is on its way; once claimed, the
        // reply is delivered even if the server is killed meanwhile, since the caller now waits for it.
        if (Process.CurrentProcess is { IsAlive: false } || !TryClaimReply())
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
        while (state is Pending or Started)
        {
            var seen = Interlocked.CompareExchange(ref _state, Replied, state);
            if (seen == state)
            {
                return true;
            }

            state = seen;
        }

        return false;
    }

    /// <summary>The server's loop takes the call and its request, just before its handler runs: false when the caller
    /// has given up or the deadline has passed, and then the call is never handled.</summary>
    internal bool TryStart(out object request)
    {
        // Only the server's loop takes the request, once; it reads it before the CAS that publishes Started.
        request = _payload!;
        _payload = null;
        if (Deadline != long.MaxValue && Stopwatch.GetTimestamp() >= Deadline)
        {
            // The caller stops waiting at its deadline: a handler started now would run for nobody. The caller is told
            // "not started" when its own give-up comes.
            Interlocked.CompareExchange(ref _state, Expired, Pending);
            return false;
        }

        return Interlocked.CompareExchange(ref _state, Started, Pending) == Pending;
    }

    /// <summary>The caller gives up (its timeout, its token, the server's exit): says whether the handler had begun,
    /// or that it is too late because a reply was claimed (it is on its way) or another give-up came first.</summary>
    internal CallGiveUp TryGiveUp()
    {
        var state = Volatile.Read(ref _state);
        while (state is Pending or Started or Expired)
        {
            var seen = Interlocked.CompareExchange(ref _state, Abandoned, state);
            if (seen == state)
            {
                return state == Started ? CallGiveUp.Started : CallGiveUp.NotStarted;
            }

            state = seen;
        }

        return CallGiveUp.TooLate;
    }

    /// <summary>The reply, for the calling process that received this CallFrom back (see <see cref="Reply"/>).</summary>
    internal object? TakeReply()
    {
        var reply = _payload;
        _payload = null;
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

    /// <summary>The server exited: a caller outside processes stops waiting, unless a reply was already claimed.</summary>
    void IExitObserver.OnExit(MonitorRef reference, Pid pid, ExitReason reason) => _outsideCaller?.ServerExited(this, reason);

    /// <summary>The caller's deadline passed: a caller outside processes stops waiting, unless a reply was claimed.</summary>
    internal void DeadlinePassed() => _outsideCaller?.DeadlinePassed(this);
}
