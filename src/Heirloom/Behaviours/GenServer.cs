using Heirloom.Diagnostics;
using Heirloom.Processes;
using ActivitySource = System.Diagnostics.ActivitySource;
using ActivityStatusCode = System.Diagnostics.ActivityStatusCode;

namespace Heirloom.Behaviours;

/// <summary>
/// OTP's gen_server: a process that serves calls (request and reply), casts (fire and forget) and other messages
/// one at a time, keeping its state in the derived class's fields.
/// </summary>
/// <remarks>
/// The callbacks' contract, as OTP's:
/// <list type="bullet">
/// <item><see cref="InitAsync"/> runs in the new process before the starter gets the pid; throwing or returning
/// <see cref="InitResult.Stop(ExitReason)"/> fails the start with that reason.</item>
/// <item><see cref="HandleCallAsync"/>, <see cref="HandleCastAsync"/>, <see cref="HandleInfoAsync"/> and
/// <see cref="HandleContinueAsync"/> run one at a time, in message order; a continue step runs before the next
/// message.</item>
/// <item><see cref="TerminateAsync"/> runs when a callback returns a stop, when a callback throws (then the
/// exception is the exit reason), when a callback exits on purpose with <see cref="ProcessExitException"/> (OTP's
/// <c>exit(Reason)</c>), on <see cref="StopAsync"/>, and, when the server traps exits, on an exit signal from its
/// parent (its supervisor) or the node. It does not run when the process is killed, or when it does not trap exits
/// and its parent stops it. A server started unlinked (<see cref="StartAsync"/>) has no parent, as OTP makes it its
/// own: an exit signal from the process that started it reaches a trapping server's <see cref="HandleInfoAsync"/>.</item>
/// </list>
/// </remarks>
public abstract partial class GenServer
{
    private ProcessContext? _context;

    /// <summary>Default time a call waits for its reply: 5 seconds, as OTP.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The server's process, for receiving, linking, monitoring and trapping exits.</summary>
    /// <exception cref="InvalidOperationException">The server has not been started.</exception>
    protected ProcessContext Context => _context ?? throw new InvalidOperationException($"{GetType().Name} has not been started; start it with GenServer.StartAsync or StartLinkAsync.");

    /// <summary>The server's pid.</summary>
    protected Pid Self => Context.Self;

    /// <summary>What <see cref="ProcessInfo.Behaviour"/> shows for this server: its type, or the public face of a
    /// built-in one.</summary>
    private protected virtual Type Behaviour => GetType();

    /// <summary>What becomes of the calls queued for this server when it crashes, unless
    /// <see cref="GenServerOptions.QueuedCallsOnCrash"/> says: OTP's <see cref="QueuedCallsOnCrash.Fail"/> for a plain
    /// server.</summary>
    private protected virtual QueuedCallsOnCrash DefaultQueuedCallsOnCrash => QueuedCallsOnCrash.Fail;

    /// <summary>While set, the loop takes only the messages this accepts, leaving the others queued, in order, and not
    /// started (a table worker waiting for its table); null takes every message in order.</summary>
    private protected Func<object, bool>? ReceiveFilter { get; set; }

    /// <summary>Initialises the server in its own process. Default: <see cref="InitResult.Ok"/>.</summary>
    protected internal virtual ValueTask<InitResult> InitAsync() => ValueTask.FromResult(InitResult.Ok);

    /// <summary>Handles a call. Default: the server crashes, naming the unexpected request.</summary>
    /// <param name="request">The request.</param>
    /// <param name="from">The caller; keep it to reply later with <see cref="CallResult.NoReply"/>.</param>
    protected internal virtual ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
        throw new InvalidOperationException($"{GetType().Name} does not handle the call {request}.");

    /// <summary>Handles a cast. Default: the server crashes, naming the unexpected message.</summary>
    /// <param name="message">The message.</param>
    protected internal virtual ValueTask<ServerResult> HandleCastAsync(object message) =>
        throw new InvalidOperationException($"{GetType().Name} does not handle the cast {message}.");

    /// <summary>Handles any other message: monitors' <see cref="Down"/>, trapped <see cref="ExitSignal"/>s, plain sends.
    /// Default: ignore it.</summary>
    /// <param name="message">The message.</param>
    protected internal virtual ValueTask<ServerResult> HandleInfoAsync(object message) => ValueTask.FromResult(ServerResult.Ok);

    /// <summary>Runs a continue step asked for by another callback. Default: the server crashes.</summary>
    /// <param name="argument">The continue argument.</param>
    protected internal virtual ValueTask<ServerResult> HandleContinueAsync(object argument) =>
        throw new InvalidOperationException($"{GetType().Name} asked for a continue step ({argument}) but does not handle it.");

    /// <summary>Cleans up before the server exits (see the class remarks for when it runs). Default: nothing.</summary>
    /// <param name="reason">The reason the server is exiting with.</param>
    protected internal virtual ValueTask TerminateAsync(ExitReason reason) => ValueTask.CompletedTask;

    /// <summary>Starts a server, not linked to the caller, and waits for its <see cref="InitAsync"/>.</summary>
    /// <param name="node">The node to start it on.</param>
    /// <param name="factory">Creates the server object, in the new process.</param>
    /// <param name="options">Name and start timeout.</param>
    /// <returns>The server's pid, or <see cref="Pid.None"/> when init returned <see cref="InitResult.Ignore"/>.</returns>
    /// <exception cref="GenServerStartException">Init threw, returned a stop, or timed out.</exception>
    /// <exception cref="NameTakenException">The name in <paramref name="options"/> is taken.</exception>
    public static Task<Pid> StartAsync(Node node, Func<GenServer> factory, GenServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        return StartCoreAsync(node, parent: null, link: false, factory, options);
    }

    /// <summary>Starts a server linked to the calling process (as a supervisor starts its children) and waits for
    /// its <see cref="InitAsync"/>. A failed start unlinks before the server exits, so it does not kill the caller.</summary>
    /// <param name="parent">The calling process, which becomes the server's parent.</param>
    /// <param name="factory">Creates the server object, in the new process.</param>
    /// <param name="options">Name and start timeout.</param>
    /// <returns>The server's pid, or <see cref="Pid.None"/> when init returned <see cref="InitResult.Ignore"/>.</returns>
    /// <exception cref="GenServerStartException">Init threw, returned a stop, or timed out.</exception>
    /// <exception cref="NameTakenException">The name in <paramref name="options"/> is taken.</exception>
    public static Task<Pid> StartLinkAsync(ProcessContext parent, Func<GenServer> factory, GenServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return StartCoreAsync(parent.Node, parent, link: true, factory, options);
    }

    /// <summary>Casts a message: never fails, never waits, even when the server is dead.</summary>
    /// <param name="server">The server.</param>
    /// <param name="message">The message; may not be null.</param>
    public static void Cast(Pid server, object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        server.Send(new CastRequest(message));
    }

    /// <summary>Casts a message to a registered server; does nothing when no process has the name.</summary>
    /// <param name="node">The node.</param>
    /// <param name="name">The server's registered name.</param>
    /// <param name="message">The message; may not be null.</param>
    public static void Cast(Node node, string name, object message)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(message);
        if (node.WhereIs(name) is { IsNone: false } server)
        {
            server.Send(new CastRequest(message));
        }
    }

    /// <summary>
    /// Calls a server and waits for its reply. A dead or unknown server fails at once; the server dying during the
    /// call fails it with the server's reason; on timeout or cancellation the caller stops waiting and a late reply is
    /// dropped. The call carries its deadline: a server that reaches a call whose caller has given up (or whose
    /// deadline has passed) skips it without running its handler.
    /// </summary>
    /// <remarks>
    /// What the caller may conclude from each outcome:
    /// <list type="bullet">
    /// <item>A reply: the handler ran and replied (a handler that stops the server after replying still replied).</item>
    /// <item><see cref="CallFailedException"/> with <see cref="CallFailedException.HandlerStarted"/> false (the server
    /// was not alive, exited before reaching the request, or did not reach it in time, a
    /// <see cref="CallTimeoutException"/>): the handler never ran and never will; the request had no effect and may be
    /// retried.</item>
    /// <item><see cref="CallFailedException"/> with <see cref="CallFailedException.HandlerStarted"/> true (the server
    /// exited while handling the request, or the timeout came while it did): the outcome is unknown; the handler may
    /// have made its effects, in part or whole, and may still make them after the caller gave up. Retry only a request
    /// that is safe to apply twice.</item>
    /// <item><see cref="CallCanceledException"/> (an <see cref="OperationCanceledException"/> carrying the token):
    /// the caller's token fired; its <see cref="CallCanceledException.HandlerStarted"/> means the same as above.</item>
    /// </list>
    /// A reply claimed by the server before the caller gave up is still returned, even when the server exits or is
    /// killed before it arrives.
    /// <para>As any <see cref="ValueTask{TResult}"/>, the result may be awaited once; call
    /// <see cref="ValueTask{TResult}.AsTask"/> to await it more than once or to combine it with other tasks.</para>
    /// </remarks>
    /// <param name="server">The server.</param>
    /// <param name="request">The request; may not be null.</param>
    /// <param name="timeout">How long to wait; default <see cref="DefaultCallTimeout"/>; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="cancellationToken">Stops waiting (a web request's <c>RequestAborted</c>, say); a reply the server
    /// had already begun to send is still returned, any later one is dropped.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="CallFailedException">The server was not alive, or exited before replying.</exception>
    /// <exception cref="CallTimeoutException">No reply within the timeout (a <see cref="CallFailedException"/>).</exception>
    /// <exception cref="CallCanceledException"><paramref name="cancellationToken"/> was cancelled first (an
    /// <see cref="OperationCanceledException"/>).</exception>
    public static ValueTask<object?> CallAsync(Pid server, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CallNamedAsync(server, name: null, request, timeout, cancellationToken);

    /// <summary>A call to <paramref name="server"/>, found by <paramref name="name"/> when not null, which failures name.</summary>
    private static ValueTask<object?> CallNamedAsync(Pid server, string? name, object request, TimeSpan? timeout, CancellationToken cancellationToken) =>
        s_calls.HasListeners() ? TracedCallAsync(server, name, request, timeout, cancellationToken) : CallCoreAsync(server, name, request, timeout, cancellationToken);

    private static readonly ActivitySource s_calls = new(HeirloomInstrumentation.ActivitySourceName);

    /// <summary>A call inside a <c>heirloom.call</c> activity, tagged with the server and the request's type, its
    /// status the error when the call fails.</summary>
    private static async ValueTask<object?> TracedCallAsync(Pid server, string? name, object request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        using var activity = s_calls.StartActivity("heirloom.call");
        activity?.SetTag("heirloom.server", server.ToString());
        activity?.SetTag("heirloom.server.name", name);
        activity?.SetTag("heirloom.request", request?.GetType().Name);
        try
        {
            return await CallCoreAsync(server, name, request!, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.AddException(e);
            throw;
        }
    }

    private static ValueTask<object?> CallCoreAsync(Pid server, string? name, object request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromException<object?>(new CallCanceledException(server, name, handlerStarted: false, cancellationToken));
        }

        var target = server.Resolve();
        var wait = timeout ?? DefaultCallTimeout;
        var current = Process.CurrentProcess;
        if (current == target)
        {
            // OTP's gen_server:call exits with calling_self: the server could never answer while it waits.
            return ValueTask.FromException<object?>(new InvalidOperationException($"Process {server} called itself; a server cannot answer a call while it waits for it. Handle the request directly instead."));
        }

        return current is { } caller && caller.Node == target.Node
            ? CallFromProcessAsync(caller, target, name, request, wait, cancellationToken)
            : OutsideCall.Start(target.Node, target, name, request, wait, cancellationToken);
    }

    /// <summary>A call to a name whose holder crashed handing its queued calls on: the call waits for the name's
    /// successor, as the calls that were queued do, until its timeout.</summary>
    private static ValueTask<object?> CallAwaitedAsync(Node node, string name, object request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromException<object?>(new CallCanceledException(Pid.None, name, handlerStarted: false, cancellationToken));
        }

        return Process.CurrentProcess is { } caller && caller.Node == node
            ? CallFromProcessAsync(caller, target: null, name, request, timeout, cancellationToken)
            : OutsideCall.Start(node, server: null, name, request, timeout, cancellationToken);
    }

    /// <summary>Calls a registered server; see <see cref="CallAsync(Pid, object, TimeSpan?, CancellationToken)"/>.</summary>
    /// <param name="node">The node.</param>
    /// <param name="name">The server's registered name.</param>
    /// <param name="request">The request; may not be null.</param>
    /// <param name="timeout">How long to wait; default <see cref="DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="CallFailedException">No process has the name, or the server exited before replying; its
    /// message names the server by <paramref name="name"/>.</exception>
    /// <exception cref="CallTimeoutException">No reply within the timeout (a <see cref="CallFailedException"/>).</exception>
    /// <exception cref="CallCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static ValueTask<object?> CallAsync(Node node, string name, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.WhereIs(name) is { IsNone: false } server)
        {
            return CallNamedAsync(server, name, request, timeout, cancellationToken);
        }

        // Between restarts the name is free, and awaited: both looked at at once (see NameSuccession.FindHolder).
        var wait = timeout ?? DefaultCallTimeout;
        if (node.Succession.FindHolder(name, out var awaited) is { } successor)
        {
            return CallNamedAsync(successor.Self, name, request, timeout, cancellationToken);
        }

        return awaited && wait != Timeout.InfiniteTimeSpan
            ? CallAwaitedAsync(node, name, request, wait, cancellationToken)
            : ValueTask.FromException<object?>(new CallFailedException(name));
    }

    /// <summary>Calls a server and returns its reply as <typeparamref name="TReply"/>; see
    /// <see cref="CallAsync(Pid, object, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="TReply">The reply's type.</typeparam>
    /// <param name="server">The server.</param>
    /// <param name="request">The request; may not be null.</param>
    /// <param name="timeout">How long to wait; default <see cref="DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="CallFailedException">The server was not alive, or exited before replying.</exception>
    /// <exception cref="CallTimeoutException">No reply within the timeout (a <see cref="CallFailedException"/>).</exception>
    /// <exception cref="UnexpectedReplyException">The reply is not a <typeparamref name="TReply"/>.</exception>
    /// <exception cref="CallCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static async ValueTask<TReply> CallAsync<TReply>(Pid server, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        As<TReply>(server, name: null, request, await CallAsync(server, request, timeout, cancellationToken).ConfigureAwait(false));

    /// <summary>Calls a registered server and returns its reply as <typeparamref name="TReply"/>; see
    /// <see cref="CallAsync(Pid, object, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="TReply">The reply's type.</typeparam>
    /// <param name="node">The node.</param>
    /// <param name="name">The server's registered name.</param>
    /// <param name="request">The request; may not be null.</param>
    /// <param name="timeout">How long to wait; default <see cref="DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="CallFailedException">No process has the name, or the server exited before replying.</exception>
    /// <exception cref="CallTimeoutException">No reply within the timeout (a <see cref="CallFailedException"/>).</exception>
    /// <exception cref="UnexpectedReplyException">The reply is not a <typeparamref name="TReply"/>.</exception>
    /// <exception cref="CallCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static async ValueTask<TReply> CallAsync<TReply>(Node node, string name, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        As<TReply>(Pid.None, name, request, await CallAsync(node, name, request, timeout, cancellationToken).ConfigureAwait(false));

    // The server is printed only on a mismatch, so a typed call that gets its type formats nothing.
    private static TReply As<TReply>(Pid server, string? name, object request, object? reply) => reply switch
    {
        TReply typed => typed,
        null when default(TReply) is null => default!,
        _ => throw new UnexpectedReplyException(name is null ? server.ToString() : $"'{name}'", request, reply, typeof(TReply)),
    };

    /// <summary>
    /// Stops a server: <see cref="TerminateAsync"/> runs with <paramref name="reason"/> and the server exits; waits
    /// until it has exited.
    /// </summary>
    /// <param name="server">The server.</param>
    /// <param name="reason">The reason; default <see cref="ExitReason.Normal"/>.</param>
    /// <param name="timeout">How long to wait; default for ever.</param>
    /// <exception cref="CallFailedException">The server was not alive, or exited with another reason (for example its terminate threw).</exception>
    /// <exception cref="TimeoutException">It had not exited within the timeout.</exception>
    public static async Task StopAsync(Pid server, ExitReason? reason = null, TimeSpan? timeout = null)
    {
        var process = server.Resolve();
        var wanted = reason ?? ExitReason.Normal;
        if (!process.IsAlive)
        {
            throw new CallFailedException(server, ExitReason.NoProc);
        }

        var exited = process.Node.WhenExited(server);
        server.Send(new StopRequest(wanted));
        var wait = timeout ?? Timeout.InfiniteTimeSpan;
        try
        {
            var actual = await exited.WaitAsync(wait, process.Node.TimeProvider).ConfigureAwait(false);
            if (!actual.Equals(wanted))
            {
                throw new CallFailedException(server, actual);
            }
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Server {server} did not stop within {Durations.Format(wait)}.");
        }
    }

    internal sealed record CastRequest(object Message);

    internal sealed record StopRequest(ExitReason Reason);
}
