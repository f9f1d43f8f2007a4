using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// A call got no reply because the server was not alive (<see cref="ExitReason.NoProc"/>, at once) or exited before
/// replying (its exit reason). Timeouts are <see cref="TimeoutException"/>.
/// </summary>
public sealed class CallFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="server">The server called.</param>
    /// <param name="reason">Why no reply came.</param>
    public CallFailedException(Pid server, ExitReason reason)
        : base(reason.Kind == ExitReasonKind.NoProc
            ? $"The call to {server} failed: the server is not alive."
            : $"The call to {server} failed: the server exited with reason {reason} before replying.", reason.Exception)
    {
        Server = server;
        Reason = reason;
    }

    /// <summary>Creates the exception for a call to a registered name that no process has.</summary>
    /// <param name="name">The name called.</param>
    public CallFailedException(string name)
        : base($"The call to '{name}' failed: no process is registered under that name.")
    {
        ServerName = name;
        Reason = ExitReason.NoProc;
    }

    /// <summary>The server called; <see cref="Pid.None"/> when it was called by a name nobody had.</summary>
    public Pid Server { get; }

    /// <summary>The registered name called, when the call was by name and no process had it.</summary>
    public string? ServerName { get; }

    /// <summary>Why no reply came: <see cref="ExitReason.NoProc"/> when it was not alive, else its exit reason.</summary>
    public ExitReason Reason { get; }
}
