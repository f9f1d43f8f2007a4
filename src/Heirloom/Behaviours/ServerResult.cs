using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// What a <see cref="GenServer"/> does after a cast, an info message or a continue step: carry on
/// (<c>{noreply, State}</c>), carry on with a continue step first (<c>{noreply, State, {continue, C}}</c>, <see cref="ThenContinue"/>),
/// or stop (<c>{stop, Reason, State}</c>).
/// </summary>
public readonly struct ServerResult
{
    private ServerResult(ExitReason? stopReason, object? continueWith)
    {
        StopReason = stopReason;
        ContinueWith = continueWith;
    }

    /// <summary>Carry on and wait for the next message.</summary>
    public static ServerResult Ok => default;

    internal ExitReason? StopReason { get; }

    internal object? ContinueWith { get; }

    /// <summary>Carry on, running <see cref="GenServer.HandleContinueAsync(object)"/> with <paramref name="argument"/>
    /// before the next message: <c>ServerResult.Ok.ThenContinue(argument)</c>.</summary>
    /// <param name="argument">What the continue step receives.</param>
    /// <exception cref="InvalidOperationException">This result is a stop.</exception>
    public ServerResult ThenContinue(object argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (StopReason is not null)
        {
            throw new InvalidOperationException("A stopping server runs no continue step; return ServerResult.Ok.ThenContinue(argument) to carry on with one.");
        }

        return new ServerResult(null, argument);
    }

    /// <summary>Stop: <see cref="GenServer.TerminateAsync(ExitReason)"/> runs, then the server exits with <paramref name="reason"/>.</summary>
    /// <param name="reason">The exit reason.</param>
    public static ServerResult Stop(ExitReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return new ServerResult(reason, null);
    }
}
