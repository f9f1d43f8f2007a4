using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// A call got no reply: the server was not alive (<see cref="ExitReason.NoProc"/>, at once), exited before replying
/// (its exit reason), or did not reply in time (<see cref="CallTimeoutException"/>). <see cref="HandlerStarted"/> says
/// whether the server had begun handling the request: when false, it was not handled and never will be, so retrying is
/// safe; when true, the handler ran at least in part and the outcome is unknown. A call stopped by the caller's own
/// token throws <see cref="CallCanceledException"/>, an <see cref="OperationCanceledException"/>, instead.
/// </summary>
public class CallFailedException : Exception
{
    /// <summary>Creates the exception for a call to a server that was not alive or exited before replying.</summary>
    /// <param name="server">The server called.</param>
    /// <param name="reason">Why no reply came.</param>
    public CallFailedException(Pid server, ExitReason reason)
        : this(server, serverName: null, reason, handlerStarted: false)
    {
    }

    /// <summary>Creates the exception for a call to a registered name that no process has.</summary>
    /// <param name="name">The name called.</param>
    public CallFailedException(string name)
        : base($"The call to '{name}' failed: no process is registered under that name, so the request was not sent. Start the server, or check the name.")
    {
        ServerName = name;
        Reason = ExitReason.NoProc;
    }

    /// <summary>Creates the exception for a call to a server that was not alive or exited before replying.</summary>
    internal CallFailedException(Pid server, string? serverName, ExitReason reason, bool handlerStarted)
        : this(server, serverName, reason, handlerStarted, Describe(server, serverName, reason, handlerStarted), reason.Exception)
    {
    }

    private protected CallFailedException(Pid server, string? serverName, ExitReason reason, bool handlerStarted, string message, Exception? inner)
        : base(message, inner)
    {
        Server = server;
        ServerName = serverName;
        Reason = reason;
        HandlerStarted = handlerStarted;
    }

    /// <summary>The server called; <see cref="Pid.None"/> when it was called by a name nobody had.</summary>
    public Pid Server { get; }

    /// <summary>The registered name the server was called by; null for a call by pid.</summary>
    public string? ServerName { get; }

    /// <summary>Why no reply came: <see cref="ExitReason.NoProc"/> when the server was not alive, its exit reason when it
    /// exited before replying, <c>timeout</c> for a <see cref="CallTimeoutException"/>.</summary>
    public ExitReason Reason { get; }

    /// <summary>Whether the server had begun handling the request. False: the handler never ran and never will, and
    /// the request had no effect. True: the handler ran, at least in part, so its effects may or may not have happened.</summary>
    public bool HandlerStarted { get; }

    /// <summary>The server as a message names it: its registered name when called by name, and its pid.</summary>
    internal static string Name(Pid server, string? serverName) => (serverName, server.IsNone) switch
    {
        (null, _) => server.ToString(),
        (_, true) => $"'{serverName}'",
        _ => $"'{serverName}' ({server})",
    };

    private static string Describe(Pid server, string? serverName, ExitReason reason, bool handlerStarted) =>
        reason.Kind == ExitReasonKind.NoProc && !handlerStarted
            ? $"The call to {Name(server, serverName)} failed: the server is not alive, so the request was not handled."
            : $"The call to {Name(server, serverName)} failed: the server exited with reason {reason} " +
              (handlerStarted
                  ? "while handling the request, which may or may not have taken effect."
                  : "before it started handling the request, which was not handled.");
}
