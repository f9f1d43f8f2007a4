using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// The caller of a <see cref="GenServer"/> call, to reply to (Erlang's <c>From</c>). A handler may keep it and reply
/// later, from any code. Each call gets exactly one reply at most; once the caller has given up (timeout), a late reply
/// is dropped instead of reaching the caller as a stray message.
/// </summary>
public sealed class CallFrom
{
    private const int Pending = 0;
    private const int Replied = 1;
    private const int Abandoned = 2;

    private readonly TaskCompletionSource<object?>? _outsideCaller;
    private int _state;

    internal CallFrom(Pid caller) => Caller = caller;

    internal CallFrom(TaskCompletionSource<object?> outsideCaller) => _outsideCaller = outsideCaller;

    /// <summary>The monitor the calling process holds on the server for this call.</summary>
    internal MonitorRef Monitor { get; init; }

    /// <summary>The calling process; <see cref="Pid.None"/> when the call came from outside any process.</summary>
    public Pid Caller { get; }

    /// <summary>Sends the reply.</summary>
    /// <param name="value">The reply; null is a valid reply.</param>
    /// <returns>True when the reply was sent; false when this call was already replied to or its caller gave up.</returns>
    public bool Reply(object? value)
    {
        // A killed server sends nothing, as in OTP, so the caller sees the server's exit instead. Claiming the reply
        // before sending it is what lets a timed-out caller know whether a reply is on its way; once claimed, the
        // reply is delivered even if the server is killed meanwhile, since the caller now waits for it.
        if (Process.CurrentProcess is { IsAlive: false } || Interlocked.CompareExchange(ref _state, Replied, Pending) != Pending)
        {
            return false;
        }

        if (_outsideCaller is not null)
        {
            _outsideCaller.TrySetResult(value);
        }
        else
        {
            Caller.Resolve().Deliver(new CallReply(this, value));
        }

        return true;
    }

    /// <summary>The caller gives up; false when a reply was already claimed and is on its way.</summary>
    internal bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Pending) == Pending;

    internal sealed record CallReply(CallFrom From, object? Value);

    /// <summary>The caller's cancellation token fired: a caller outside processes stops waiting at once, unless a reply
    /// was already claimed; a caller in a process is woken by a <see cref="CallCancelled"/> and decides there.</summary>
    internal void Cancel(CancellationToken token)
    {
        if (_outsideCaller is not null)
        {
            if (TryAbandon())
            {
                _outsideCaller.TrySetCanceled(token);
            }
        }
        else
        {
            Caller.Resolve().Deliver(new CallCancelled(this));
        }
    }
}
