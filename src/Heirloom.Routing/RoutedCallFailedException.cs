namespace Heirloom.Routing;

/// <summary>
/// A routed call got no reply: the worker exited before replying, or the connection to the owning node was lost after
/// the request was sent. <see cref="HandlerStarted"/> says what the caller may conclude, as for a local call: false, the
/// request was not handled and never will be (retrying is safe); true, it may or may not have taken effect (a lost
/// connection counts as true, since the owner may have handled it). A timeout is a
/// <c>CallTimeoutException</c> and a cancellation a <c>CallCanceledException</c>, as for local calls.
/// </summary>
public sealed class RoutedCallFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">The clustered table whose worker was called.</param>
    /// <param name="nodeId">The node the call went to, when known.</param>
    /// <param name="handlerStarted">Whether the worker may have begun handling the request.</param>
    /// <param name="message">What happened.</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public RoutedCallFailedException(string table, string? nodeId, bool handlerStarted, string message, Exception? inner = null)
        : base(message, inner)
    {
        Table = table;
        NodeId = nodeId;
        HandlerStarted = handlerStarted;
    }

    /// <summary>The clustered table whose worker was called.</summary>
    public string Table { get; }

    /// <summary>The node the call went to, when known.</summary>
    public string? NodeId { get; }

    /// <summary>Whether the worker may have begun handling the request: false means it was not handled and never will
    /// be.</summary>
    public bool HandlerStarted { get; }
}
