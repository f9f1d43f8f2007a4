using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// A call stopped waiting because the caller's cancellation token fired. It is an
/// <see cref="OperationCanceledException"/> carrying that token, as .NET reports a cancelled wait, and says, as a
/// <see cref="CallFailedException"/> does, whether the server had begun handling the request: when not, the request
/// is never handled; when it had, a later reply is dropped and the request may or may not take effect.
/// </summary>
public sealed class CallCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="server">The server called.</param>
    /// <param name="serverName">The registered name it was called by; null for a call by pid.</param>
    /// <param name="handlerStarted">Whether the server had begun handling the request.</param>
    /// <param name="cancellationToken">The token that fired.</param>
    public CallCanceledException(Pid server, string? serverName, bool handlerStarted, CancellationToken cancellationToken)
        : base(Describe(server, serverName, handlerStarted), cancellationToken)
    {
        Server = server;
        ServerName = serverName;
        HandlerStarted = handlerStarted;
    }

    /// <summary>The server called.</summary>
    public Pid Server { get; }

    /// <summary>The registered name the server was called by; null for a call by pid.</summary>
    public string? ServerName { get; }

    /// <summary>Whether the server had begun handling the request (see <see cref="CallFailedException.HandlerStarted"/>).</summary>
    public bool HandlerStarted { get; }

    private static string Describe(Pid server, string? serverName, bool handlerStarted) =>
        $"The call to {CallFailedException.Name(server, serverName)} was cancelled by its token; " +
        (handlerStarted
            ? "the server had started handling the request, which may or may not take effect."
            : "the server had not started handling the request, and never will.");
}
