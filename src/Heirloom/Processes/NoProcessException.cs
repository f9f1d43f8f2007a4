namespace Heirloom.Processes;

/// <summary>The operation needed a live process and the pid names one that has exited (Erlang's <c>noproc</c>).</summary>
public sealed class NoProcessException : InvalidOperationException
{
    /// <summary>Creates the exception for a pid.</summary>
    /// <param name="pid">The dead process.</param>
    /// <param name="message">What was being attempted and why it failed.</param>
    public NoProcessException(Pid pid, string message)
        : base(message) => Pid = pid;

    /// <summary>The pid that named no live process.</summary>
    public Pid Pid { get; }
}
