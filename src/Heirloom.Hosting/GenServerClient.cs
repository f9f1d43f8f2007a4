using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Hosting;

/// <summary>
/// Calls the server of type <typeparamref name="TServer"/> registered with <see cref="HeirloomBuilder"/> (a managed
/// table's worker, or a server added with <see cref="HeirloomGenServerExtensions.AddGenServer{TServer}"/>): inject it,
/// and call with no name at the call site. Calls go by the server's registered name, so a call queued for a table
/// worker that crashes is served by its successor (see <see cref="QueuedCallsOnCrash"/>), and the failures are
/// <see cref="GenServer.CallAsync(Pid, object, TimeSpan?, CancellationToken)"/>'s.
/// </summary>
/// <typeparam name="TServer">The server's type.</typeparam>
public sealed class GenServerClient<TServer>
    where TServer : GenServer
{
    /// <summary>Creates a client for the server registered as <paramref name="name"/> on <paramref name="node"/>.</summary>
    /// <param name="node">The node.</param>
    /// <param name="name">The server's registered name.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or empty.</exception>
    public GenServerClient(Node node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Node = node;
        Name = name;
    }

    /// <summary>The node the server runs on.</summary>
    public Node Node { get; }

    /// <summary>The server's registered name.</summary>
    public string Name { get; }

    /// <summary>Calls the server; see <see cref="GenServer.CallAsync{TReply}(Node, string, object, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="TReply">The reply's type.</typeparam>
    /// <param name="request">The request.</param>
    /// <param name="timeout">How long to wait; default <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting (a web request's <c>RequestAborted</c>, say).</param>
    /// <returns>The reply.</returns>
    /// <exception cref="CallFailedException">No reply: see <see cref="CallFailedException.HandlerStarted"/> for what
    /// the caller may conclude.</exception>
    /// <exception cref="UnexpectedReplyException">The reply is not a <typeparamref name="TReply"/>.</exception>
    /// <exception cref="CallCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public ValueTask<TReply> CallAsync<TReply>(object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        GenServer.CallAsync<TReply>(Node, Name, request, timeout, cancellationToken);

    /// <summary>Casts a message to the server; does nothing when it is not running.</summary>
    /// <param name="message">The message.</param>
    public void Cast(object message) => GenServer.Cast(Node, Name, message);

    /// <summary>The server's pid now; <see cref="Pid.None"/> while it is not running.</summary>
    public Pid WhereIs() => Node.WhereIs(Name);
}
