using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// How <see cref="GenServer.InitAsync"/> ends: started (<c>{ok, State}</c>), started with a continue step (<see cref="ThenContinue"/>),
/// refusing to start with a reason (<c>{stop, Reason}</c>: the start fails), or <c>ignore</c> (no server;
/// the start returns <see cref="Pid.None"/> and a supervisor does not restart it). Throwing fails the start too.
/// </summary>
public readonly struct InitResult
{
    private InitResult(int kind, ExitReason? stopReason, object? continueWith)
    {
        Kind = kind;
        StopReason = stopReason;
        ContinueWith = continueWith;
    }

    /// <summary>Started; the server waits for messages.</summary>
    public static InitResult Ok => default;

    /// <summary>Not started and not an error: the start returns <see cref="Pid.None"/>.</summary>
    public static InitResult Ignore => new(IgnoreKind, null, null);

    internal const int IgnoreKind = 1;

    internal int Kind { get; }

    internal ExitReason? StopReason { get; }

    internal object? ContinueWith { get; }

    /// <summary>Started, then <see cref="GenServer.HandleContinueAsync(object)"/> runs before any message, after the
    /// starter has its pid (<c>{ok, State, {continue, C}}</c>): <c>InitResult.Ok.ThenContinue(argument)</c>.</summary>
    /// <param name="argument">What the continue step receives.</param>
    /// <exception cref="InvalidOperationException">This result is not <see cref="Ok"/>.</exception>
    public InitResult ThenContinue(object argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (Kind != 0 || StopReason is not null)
        {
            throw new InvalidOperationException("Only InitResult.Ok can be followed by a continue step; a server that stops or is ignored never runs one.");
        }

        return new InitResult(0, null, argument);
    }

    /// <summary>Refuse to start: the start fails with <paramref name="reason"/>.</summary>
    /// <param name="reason">Why.</param>
    public static InitResult Stop(ExitReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new InitResult(0, reason, null);
    }
}
