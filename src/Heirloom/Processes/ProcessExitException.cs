namespace Heirloom.Processes;

/// <summary>
/// Ends the current process with a chosen reason when thrown out of its body (Erlang's <c>exit(Reason)</c>),
/// and is what a process's pending receive throws once the process has been killed, so that its
/// <c>finally</c> blocks run. It is never reported as a crash.
/// </summary>
public sealed class ProcessExitException : Exception
{
    /// <summary>Creates the exception for a reason.</summary>
    /// <param name="reason">The reason the process exits with.</param>
    public ProcessExitException(ExitReason reason)
        : base($"The process exits with reason {reason}.")
    {
        ArgumentNullException.ThrowIfNull(reason);
        Reason = reason;
    }

    /// <summary>The reason the process exits with.</summary>
    public ExitReason Reason { get; }
}
