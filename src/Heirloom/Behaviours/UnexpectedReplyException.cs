namespace Heirloom.Behaviours;

/// <summary>A typed call got a reply of another type than the caller asked for: the server and the caller disagree
/// on the protocol.</summary>
public sealed class UnexpectedReplyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="server">The server called, as printed (its pid or name).</param>
    /// <param name="request">The request.</param>
    /// <param name="reply">The reply that came.</param>
    /// <param name="expected">The type the caller asked for.</param>
    public UnexpectedReplyException(string server, object request, object? reply, Type expected)
        : base($"The call to {server} with {request} replied {reply ?? "null"} ({reply?.GetType().Name ?? "null"}), not a {expected.Name}. " +
            $"Ask for the type the server replies with, or fix the server's reply.")
    {
        Reply = reply;
        ExpectedType = expected;
    }

    /// <summary>The reply that came.</summary>
    public object? Reply { get; }

    /// <summary>The type the caller asked for.</summary>
    public Type ExpectedType { get; }
}
