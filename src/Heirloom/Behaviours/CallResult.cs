using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// What a <see cref="GenServer"/> does after a call: reply now (<c>{reply, Reply, State}</c>), reply later
/// through the <see cref="CallFrom"/> (<c>{noreply, State}</c>), or stop, with or without a reply.
/// Any of them can be followed by a continue step with <see cref="ThenContinue(object)"/>.
/// </summary>
public readonly struct CallResult
{
    private CallResult(bool hasReply, object? reply, ExitReason? stopReason, object? continueWith)
    {
        HasReply = hasReply;
        Value = reply;
        StopReason = stopReason;
        ContinueWith = continueWith;
    }

    /// <summary>Do not reply now: the handler kept the <see cref="CallFrom"/> and replies later with <see cref="CallFrom.Reply(object?)"/>.</summary>
    public static CallResult NoReply => default;

    internal bool HasReply { get; }

    internal object? Value { get; }

    internal ExitReason? StopReason { get; }

    internal object? ContinueWith { get; }

    /// <summary>Reply to the caller now.</summary>
    /// <param name="value">The reply; null is a valid reply.</param>
    public static CallResult Reply(object? value) => new(true, value, null, null);

    /// <summary>Stop without replying: the caller's call fails with <paramref name="reason"/> when the server exits.</summary>
    /// <param name="reason">The exit reason.</param>
    public static CallResult Stop(ExitReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new CallResult(false, null, reason, null);
    }

    /// <summary>Reply, then stop: <see cref="GenServer.TerminateAsync(ExitReason)"/> runs and the server exits.</summary>
    /// <param name="reason">The exit reason.</param>
    /// <param name="reply">The reply, sent before terminating.</param>
    public static CallResult Stop(ExitReason reason, object? reply)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new CallResult(true, reply, reason, null);
    }

    /// <summary>Run <see cref="GenServer.HandleContinueAsync(object)"/> after this result, before the next message.</summary>
    /// <param name="argument">What the continue step receives.</param>
    /// <exception cref="InvalidOperationException">This result is a stop.</exception>
    public CallResult ThenContinue(object argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (StopReason is not null)
        {
            throw new InvalidOperationException("A stopping server runs no continue step; only a reply or no-reply can be followed by one.");
        }

        return new CallResult(HasReply, Value, StopReason, argument);
    }
}
