using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// A call got no reply within its timeout. The caller has stopped waiting and a later reply is dropped.
/// <see cref="CallFailedException.HandlerStarted"/> says what the caller may conclude: false, the server had not
/// started the request when the caller gave up and never will (it skips a call whose caller gave up), so retrying is
/// safe; true, the handler had begun, and the request may or may not take effect.
/// </summary>
public sealed class CallTimeoutException : CallFailedException
{
    private static readonly ExitReason s_timeout = ExitReason.Custom("timeout");

    /// <summary>Creates the exception.</summary>
    /// <param name="server">The server called.</param>
    /// <param name="serverName">The registered name it was called by; null for a call by pid.</param>
    /// <param name="timeout">How long the caller waited.</param>
    /// <param name="handlerStarted">Whether the server had begun handling the request.</param>
    public CallTimeoutException(Pid server, string? serverName, TimeSpan timeout, bool handlerStarted)
        : base(server, serverName, s_timeout, handlerStarted, Describe(server, serverName, timeout, handlerStarted), inner: null) =>
        Timeout = timeout;

    /// <summary>How long the caller waited.</summary>
    public TimeSpan Timeout { get; }

    private static string Describe(Pid server, string? serverName, TimeSpan timeout, bool handlerStarted) =>
        $"The call to {Name(server, serverName)} got no reply within {Durations.Format(timeout)}; " +
        (handlerStarted
            ? "the server had started handling the request, which may or may not take effect; its reply will be dropped."
            : "the server had not started handling the request, and never will: retrying is safe. The server is busy or slow; give it more time, or fewer requests.");
}
