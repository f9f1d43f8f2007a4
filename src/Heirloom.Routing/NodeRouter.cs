using System.Buffers;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Net;
using System.Net.Sockets;
using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Postgres;
using Heirloom.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Routing;

/// <summary>
/// A node's router: calls and casts from this node reach a clustered table's worker (the server registered under
/// <see cref="ClusteredTableOptions.WorkerName"/>) on whichever node owns the table now, and the calls other nodes route
/// here are delivered to this node's workers while it owns their tables. It listens with Kestrel (TLS when a
/// certificate is set) and advertises its address in the cluster's membership; one multiplexed connection per peer
/// carries every call to it. Start one per node after its <see cref="PostgresCluster"/>; dispose it before the cluster.
/// </summary>
/// <remarks>
/// A call carries its remaining time budget; the owner calls its worker with that budget as the local call's
/// timeout, so a call whose caller has given up is skipped before its handler runs, and the caller's exception says
/// whether the handler had started, as for local calls. A call finding a node that no longer owns the table (a move or a
/// takeover in progress) looks for the owner again and waits for the new one, within its deadline.
/// </remarks>
public sealed class NodeRouter : IAsyncDisposable
{
    private static readonly TimeSpan s_longestPause = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, ClusteredTableOwner> _owners = new(StringComparer.Ordinal);
    private readonly PeerConnections _peers;
    private WebApplication? _listener;

    private NodeRouter(PostgresCluster cluster, RouterOptions options)
    {
        Cluster = cluster;
        Options = options;
        _peers = new PeerConnections(options, cluster.Node.TimeProvider);
    }

    /// <summary>This node's membership.</summary>
    public PostgresCluster Cluster { get; }

    /// <summary>The options.</summary>
    public RouterOptions Options { get; }

    /// <summary>Where other nodes reach this router (<c>tcp://host:port</c>, or <c>tls://host:port</c> with TLS), as
    /// advertised in the cluster's membership.</summary>
    public string Address { get; private set; } = "";

    private TimeProvider Time => Cluster.Node.TimeProvider;

    /// <summary>A certificate this router loaded itself (from configuration), disposed with it.</summary>
    internal System.Security.Cryptography.X509Certificates.X509Certificate2? OwnedCertificate { get; set; }

    /// <summary>Starts listening and advertises this node's address in the cluster's membership.</summary>
    /// <param name="cluster">This node's membership.</param>
    /// <param name="options">Listening, TLS and authentication; default plain TCP on a free loopback port, no secret.</param>
    /// <param name="cancellation">Stops waiting.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (the message says which).</exception>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<NodeRouter> StartAsync(PostgresCluster cluster, RouterOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new RouterOptions();
        options.Validate();
        var router = new NodeRouter(cluster, options);
        try
        {
            await router.ListenAsync(cancellation).ConfigureAwait(false);
            await cluster.AdvertiseAsync(router.Address, cancellation).ConfigureAwait(false);
        }
        catch
        {
            await router.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return router;
    }

    /// <summary>
    /// Calls the worker of clustered table <paramref name="table"/> on the node that owns it now, and returns its
    /// reply as <typeparamref name="TReply"/>. What each outcome means is what it means for a local
    /// <c>GenServer.CallAsync</c>: a reply, the handler ran; <see cref="CallTimeoutException"/> or
    /// <see cref="CallCanceledException"/> with <c>HandlerStarted</c> false, the request was not handled and never will
    /// be; with true, it may or may not have taken effect.
    /// </summary>
    /// <typeparam name="TReply">The reply's type.</typeparam>
    /// <param name="table">The clustered table's name.</param>
    /// <param name="request">The request; its type needs a codec in <see cref="RouterOptions.Codecs"/>.</param>
    /// <param name="timeout">The call's whole budget, from here to the reply, including looking for the owner and
    /// waiting through a move or takeover; default <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting; the owner is told, and does not start the handler if it has not.</param>
    /// <exception cref="ArgumentException"><paramref name="table"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="MissingCodecException">The request's type, or the reply's, has no codec.</exception>
    /// <exception cref="ClusteredTableNotFoundException">The cluster has no such table.</exception>
    /// <exception cref="CallTimeoutException">No reply within the timeout.</exception>
    /// <exception cref="CallCanceledException">The token fired first.</exception>
    /// <exception cref="RoutedCallFailedException">The worker exited, or the owner was lost after it got the request.</exception>
    /// <exception cref="CallFailedException">The owner is this node and its worker exited before replying.</exception>
    /// <exception cref="UnexpectedReplyException">The reply is not a <typeparamref name="TReply"/>.</exception>
    /// <exception cref="PeerRefusedException">The owner refused this node (secret or TLS settings differ).</exception>
    public async Task<TReply> CallAsync<TReply>(string table, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(table, request, timeout, cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            TReply typed => typed,
            null when default(TReply) is null => default!,
            _ => throw new UnexpectedReplyException(Describe(table), request, reply, typeof(TReply)),
        };
    }

    /// <summary>Calls the worker of clustered table <paramref name="table"/> on the node that owns it now; see
    /// <see cref="CallAsync{TReply}"/>.</summary>
    /// <param name="table">The clustered table's name.</param>
    /// <param name="request">The request; its type needs a codec.</param>
    /// <param name="timeout">The call's whole budget; default <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The reply.</returns>
    public Task<object?> CallAsync(string table, object request, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RouteAsync(FrameKind.Call, table, request, timeout ?? GenServer.DefaultCallTimeout, cancellationToken);

    /// <summary>Casts <paramref name="message"/> to the worker of clustered table <paramref name="table"/> on the node
    /// that owns it now. Completes once the owner has put it in its worker's mailbox (a cast is delivered to the owner
    /// only, never queued on a node that lost the table); the worker handles it later, as any cast.</summary>
    /// <param name="table">The clustered table's name.</param>
    /// <param name="message">The message; its type needs a codec.</param>
    /// <param name="timeout">How long finding the owner and delivering may take; default <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="ArgumentException"><paramref name="table"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="MissingCodecException">The message's type has no codec.</exception>
    /// <exception cref="ClusteredTableNotFoundException">The cluster has no such table.</exception>
    /// <exception cref="CallTimeoutException">Not delivered within the timeout (<c>HandlerStarted</c> false: it never
    /// will be; true: it may have been).</exception>
    public Task CastAsync(string table, object message, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RouteAsync(FrameKind.Cast, table, message, timeout ?? GenServer.DefaultCallTimeout, cancellationToken);

    /// <summary>
    /// Reads the values of <paramref name="key"/> in clustered table <paramref name="table"/> (<c>ets:lookup/2</c>: none
    /// or one for a set, in insertion order for a bag) from the table's data, never calling its worker. With no
    /// <paramref name="maxStaleness"/>, the owner serves it: here when this node owns the table, else the owner's node,
    /// found and re-found through moves and takeovers within the timeout as for calls. With a bound, this node's warm
    /// standby serves it when its copy holds every commit acknowledged at least <paramref name="maxStaleness"/> before the
    /// read began; a copy staler than that is not read, and the owner serves it instead.
    /// </summary>
    /// <typeparam name="TKey">The table's key type.</typeparam>
    /// <typeparam name="TValue">The table's value type.</typeparam>
    /// <param name="table">The clustered table's name.</param>
    /// <param name="key">The key.</param>
    /// <param name="maxStaleness">How old the data may be, counted back from when the read began; null (the default)
    /// for the owner's data. Zero is served only by the owner (a standby's copy is always some time behind).</param>
    /// <param name="timeout">The read's whole budget, including finding the owner; default
    /// <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The values, where they were read and how fresh they are.</returns>
    /// <remarks>The owner's table holds every write its worker made, including those not yet committed when the table
    /// does not wait for commits (<see cref="ClusteredTableOptions.WritesWaitForCommit"/> false). A read reaches the
    /// table whatever its <see cref="Heirloom.Tables.TableAccess"/>. Keys and values travel through the table's codecs
    /// when this node runs the table's server; a node that runs none uses the built-in codecs of
    /// <typeparamref name="TKey"/> and <typeparamref name="TValue"/>, which must be the table's.</remarks>
    /// <exception cref="ArgumentException"><paramref name="table"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxStaleness"/> is negative.</exception>
    /// <exception cref="ClusteredTableNotFoundException">The cluster has no such table.</exception>
    /// <exception cref="ClusteredTableTypeException">The table's key or value type (or codec) is not
    /// <typeparamref name="TKey"/>'s or <typeparamref name="TValue"/>'s.</exception>
    /// <exception cref="NotSupportedException">This node runs no server of the table and a type has no built-in
    /// codec.</exception>
    /// <exception cref="CallTimeoutException">Not served within the timeout.</exception>
    /// <exception cref="CallCanceledException">The token fired first.</exception>
    /// <exception cref="RoutedCallFailedException">The connection to the owner was lost after the read was sent, or
    /// its node failed reading.</exception>
    /// <exception cref="PeerRefusedException">The owner refused this node (secret or TLS settings differ).</exception>
    public async Task<ClusteredRead<TValue>> LookupAsync<TKey, TValue>(string table, TKey key, TimeSpan? maxStaleness = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        ArgumentNullException.ThrowIfNull(key);
        if (maxStaleness is { } bound)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(bound, TimeSpan.Zero, nameof(maxStaleness));
        }

        var started = Time.GetTimestamp();
        if (LocalReadsOf<TKey, TValue>(table) is { } local)
        {
            if (local.TryReadOwned(key) is { } owned)
            {
                return new ClusteredRead<TValue>(owned, ReadSource.LocalOwner, Cluster.NodeId, TimeSpan.Zero);
            }

            if (maxStaleness is { } staleness && local.TryReadStandby(key, Earliest(started, staleness)) is var (values, fresh))
            {
                return new ClusteredRead<TValue>(values, ReadSource.LocalStandby, Cluster.NodeId, fresh >= started ? TimeSpan.Zero : Time.GetElapsedTime(fresh, started));
            }
        }

        return await ReadFromOwnerAsync<TKey, TValue>(table, key, started, timeout ?? GenServer.DefaultCallTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the value of <paramref name="key"/> in clustered set table <paramref name="table"/>, or the
    /// default when it has none; see <see cref="LookupAsync{TKey, TValue}"/> for where it is served and what
    /// <paramref name="maxStaleness"/> means. For a bag, the first of the key's values.</summary>
    /// <typeparam name="TKey">The table's key type.</typeparam>
    /// <typeparam name="TValue">The table's value type.</typeparam>
    /// <param name="table">The clustered table's name.</param>
    /// <param name="key">The key.</param>
    /// <param name="maxStaleness">How old the data may be; null for the owner's.</param>
    /// <param name="timeout">The read's whole budget; default <see cref="GenServer.DefaultCallTimeout"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>Whether the key has a value, and the value.</returns>
    public async Task<(bool Found, TValue? Value)> TryGetAsync<TKey, TValue>(string table, TKey key, TimeSpan? maxStaleness = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        var read = await LookupAsync<TKey, TValue>(table, key, maxStaleness, timeout, cancellationToken).ConfigureAwait(false);
        return read.Values is [var value, ..] ? (true, value) : (false, default);
    }

    /// <summary>Stops listening and closes the connections to peers; calls other nodes route here fail over to the
    /// table's next owner. Dispose it before the cluster.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_listener is { } listener)
        {
            _listener = null;
            await listener.StopAsync().ConfigureAwait(false);
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await _peers.DisposeAsync().ConfigureAwait(false);
        OwnedCertificate?.Dispose();
    }

    private async Task ListenAsync(CancellationToken cancellation)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(new InboundCalls(Cluster, Options));
        ListenOptions? bound = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(Options.ListenAddress, Options.Port, listen =>
        {
            bound = listen;
            if (Options.Certificate is { } certificate)
            {
                listen.UseHttps(Tls(certificate));
            }

            listen.UseConnectionHandler<RoutingConnectionHandler>();
        }));
        _listener = builder.Build();
        await _listener.StartAsync(cancellation).ConfigureAwait(false);
        var port = ((IPEndPoint)bound!.EndPoint).Port;
        var host = Options.AdvertisedHost ?? (Options.ListenAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Options.ListenAddress}]" : Options.ListenAddress.ToString());
        Address = $"{(Options.Certificate is null ? "tcp" : "tls")}://{host}:{port}";
    }

    private HttpsConnectionAdapterOptions Tls(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var tls = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = Options.RequirePeerCertificates ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
        };
        if (Options.ValidatePeerCertificate is { } validate)
        {
            tls.ClientCertificateValidation = (peer, chain, errors) => validate(this, peer, chain, errors);
        }

        return tls;
    }

    private async Task<object?> RouteAsync(FrameKind kind, string table, object request, TimeSpan timeout, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(table);
        ArgumentNullException.ThrowIfNull(request);
        var codec = Options.Codecs.For(request);
        var started = Time.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            var remaining = RemainingBeforeAttempt(table, started, timeout, cancellation);

            if (Cluster.Owns(table) && Cluster.LocalTable(table) is { } local)
            {
                return await CallLocallyAsync(kind, local.WorkerName, request, remaining, cancellation).ConfigureAwait(false);
            }

            var owner = await OwnerAsync(table, remaining, timeout, cancellation).ConfigureAwait(false);
            var outcome = owner.Address is null || owner.NodeId == Cluster.NodeId
                ? Attempt.Retry
                : await SendAsync(kind, owner, codec, request, remaining, timeout, cancellation).ConfigureAwait(false);
            if (outcome.Done)
            {
                return outcome.Reply;
            }

            // Not there (moving, taken over, its node gone): look again after a short pause, within the deadline.
            _owners.TryRemove(new KeyValuePair<string, ClusteredTableOwner>(table, owner));
            await PauseAsync(attempt, started, timeout, table, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>The typed reads of a table whose server runs on this node, or null when none runs here.</summary>
    /// <exception cref="ClusteredTableTypeException">The table has other key or value types.</exception>
    private LocalReads<TKey, TValue>? LocalReadsOf<TKey, TValue>(string table)
        where TKey : notnull => Cluster.Reads(table) switch
        {
            null => null,
            LocalReads<TKey, TValue> typed => typed,
            var other => throw new ClusteredTableTypeException(table,
                ClusteredTableTypeException.Describe(other.KeyType.FullName ?? other.KeyType.Name, other.KeyCodecName, other.ValueType.FullName ?? other.ValueType.Name, other.ValueCodecName),
                $"keys of {typeof(TKey).FullName} and values of {typeof(TValue).FullName}"),
        };

    /// <summary>The earliest timestamp a copy may be fresh as of to serve a read begun at <paramref name="started"/>
    /// with <paramref name="maxStaleness"/>: the bound is rounded down, so it is never exceeded.</summary>
    private long Earliest(long started, TimeSpan maxStaleness)
    {
        var back = Math.Floor(maxStaleness.Ticks * (double)Time.TimestampFrequency / TimeSpan.TicksPerSecond);
        return back >= (double)started - long.MinValue ? long.MinValue + 1 : started - (long)back;
    }

    /// <summary>The owner serves a read: here, if this node has come to own the table, else on its node, with the
    /// retries of calls (a node that no longer owns the table answers "not owner", and the owner is looked for again)
    /// within the deadline.</summary>
    private async Task<ClusteredRead<TValue>> ReadFromOwnerAsync<TKey, TValue>(string table, TKey key, long started, TimeSpan timeout, CancellationToken cancellation)
        where TKey : notnull
    {
        byte[]? keyBytes = null;
        for (var attempt = 0; ; attempt++)
        {
            var remaining = RemainingBeforeAttempt(table, started, timeout, cancellation);

            var local = LocalReadsOf<TKey, TValue>(table);
            if (local?.TryReadOwned(key) is { } owned)
            {
                return new ClusteredRead<TValue>(owned, ReadSource.LocalOwner, Cluster.NodeId, TimeSpan.Zero);
            }

            var (keyCodec, valueCodec) = local is null ? (Codecs.For<TKey>(), Codecs.For<TValue>()) : (local.KeyCodec, local.ValueCodec);
            keyBytes ??= Encode(keyCodec, key);
            var owner = await OwnerAsync(table, remaining, timeout, cancellation).ConfigureAwait(false);
            if (owner.Address is not null && owner.NodeId != Cluster.NodeId)
            {
                var request = keyBytes;
                var reply = await ExchangeAsync(owner, id => Frame.LookupRequest(id, table, typeof(TKey).FullName!, typeof(TValue).FullName!, keyCodec.Name, valueCodec.Name, request),
                    remaining, timeout, cancellation).ConfigureAwait(false);
                if (reply is { } verdict && Values(verdict, owner, timeout, cancellation, keyCodec, valueCodec) is { } values)
                {
                    return new ClusteredRead<TValue>(values, ReadSource.RemoteOwner, owner.NodeId!, TimeSpan.Zero);
                }
            }

            // Not there (moving, taken over, its node gone): look again after a short pause, within the deadline.
            _owners.TryRemove(new KeyValuePair<string, ClusteredTableOwner>(table, owner));
            await PauseAsync(attempt, started, timeout, table, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>The values of a read's verdict, or null to look for the owner again.</summary>
    private TValue[]? Values<TKey, TValue>(Frame reply, ClusteredTableOwner owner, TimeSpan timeout, CancellationToken cancellation, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        var data = reply.Payload;
        var status = (ReplyStatus)data[0];
        if (status == ReplyStatus.Ok)
        {
            return [.. Frame.ReadValues(data.AsSpan(1)).Select(value => valueCodec.Read(value))];
        }

        if (status == ReplyStatus.TypeMismatch)
        {
            throw new ClusteredTableTypeException(owner.Table, System.Text.Encoding.UTF8.GetString(data.AsSpan(2)),
                ClusteredTableTypeException.Describe(typeof(TKey).FullName!, keyCodec.Name, typeof(TValue).FullName!, valueCodec.Name));
        }

        // Not the owner: look again; a timeout, cancellation or failure is thrown as for a call.
        _ = Interpret(reply, owner, timeout, cancellation);
        return null;
    }

    private static byte[] Encode<T>(ICodec<T> codec, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        codec.Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>What is left of the call's budget before another attempt; a call whose caller gave up, or whose deadline
    /// passed, ends here as not started.</summary>
    private TimeSpan RemainingBeforeAttempt(string table, long started, TimeSpan timeout, CancellationToken cancellation)
    {
        if (cancellation.IsCancellationRequested)
        {
            throw new CallCanceledException(Pid.None, Describe(table), handlerStarted: false, cancellation);
        }

        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var remaining = timeout - Time.GetElapsedTime(started);
        return remaining > TimeSpan.Zero ? remaining : throw new CallTimeoutException(Pid.None, Describe(table), timeout, handlerStarted: false);
    }

    /// <summary>This node owns the table: the worker is called (or cast to) here, with no encoding.</summary>
    private async Task<object?> CallLocallyAsync(FrameKind kind, string worker, object request, TimeSpan remaining, CancellationToken cancellation)
    {
        if (kind == FrameKind.Call)
        {
            return await GenServer.CallAsync(Cluster.Node, worker, request, remaining, cancellation).ConfigureAwait(false);
        }

        GenServer.Cast(Cluster.Node, worker, request);
        return null;
    }

    /// <summary>The table's owner: the one last found (the path of every call but the first, with nothing to await),
    /// or PostgreSQL's answer within the call's remaining budget.</summary>
    private ValueTask<ClusteredTableOwner> OwnerAsync(string table, TimeSpan remaining, TimeSpan timeout, CancellationToken cancellation) =>
        _owners.TryGetValue(table, out var known)
            ? ValueTask.FromResult(known)
            : new ValueTask<ClusteredTableOwner>(WithinAsync(FindOwnerAsync(table, cancellation), remaining, timeout, table));

    /// <summary>Asks PostgreSQL who owns the table, and remembers the answer until it proves stale.</summary>
    private async Task<ClusteredTableOwner> FindOwnerAsync(string table, CancellationToken cancellation)
    {
        ClusteredTableOwner? owner;
        try
        {
            owner = await Cluster.FindOwnerAsync(table, cancellation).ConfigureAwait(false);
        }
        catch (DbException)
        {
            // PostgreSQL could not say now (unreachable, restarting, or this statement chosen as a deadlock's victim):
            // nobody is known to own the table, so the call looks again after a pause, within its deadline.
            return new ClusteredTableOwner(table, null, 0, null);
        }

        _owners[table] = owner ?? throw new ClusteredTableNotFoundException(table);
        return owner;
    }

    /// <summary>Waits for a step before the request is sent (finding the owner, connecting to it) no longer than the
    /// call's remaining budget: past it, the call times out as not started.</summary>
    private async Task<T> WithinAsync<T>(Task<T> step, TimeSpan remaining, TimeSpan timeout, string table)
    {
        if (step.IsCompleted || remaining == Timeout.InfiniteTimeSpan)
        {
            return await step.ConfigureAwait(false);
        }

        try
        {
            return await step.WaitAsync(remaining, Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _ = step.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw new CallTimeoutException(Pid.None, Describe(table), timeout, handlerStarted: false);
        }
    }

    /// <summary>Sends the request to <paramref name="owner"/> and interprets its verdict; retry when it was not
    /// delivered (nobody listening, not the owner).</summary>
    private async Task<Attempt> SendAsync(FrameKind kind, ClusteredTableOwner owner, MessageCodec codec, object request, TimeSpan remaining, TimeSpan timeout, CancellationToken cancellation)
    {
        var budget = remaining == Timeout.InfiniteTimeSpan ? -1 : Math.Max(1, remaining.Ticks);
        var reply = await ExchangeAsync(owner, id => Frame.Request(kind, id, owner.Table, budget, codec, request), remaining, timeout, cancellation).ConfigureAwait(false);
        return reply is { } verdictFrame ? Interpret(verdictFrame, owner, timeout, cancellation) : Attempt.Retry;
    }

    /// <summary>Sends the frame <paramref name="build"/> makes (given its id) to <paramref name="owner"/> and returns its
    /// verdict; null when it was not delivered (nobody listening, connecting took too long, the owner stopped before
    /// reading it): look again.</summary>
    private async Task<Frame?> ExchangeAsync(ClusteredTableOwner owner, Func<long, Frame> build, TimeSpan remaining, TimeSpan timeout, CancellationToken cancellation)
    {
        PeerConnection connection;
        long id;
        Task<Frame> verdict;
        try
        {
            connection = _peers.TryGetOpen(owner.Address!, out var open) ? open : await WithinAsync(_peers.GetAsync(owner.Address!, cancellation), remaining, timeout, owner.Table).ConfigureAwait(false);
            var deadline = remaining == Timeout.InfiniteTimeSpan ? long.MaxValue : Time.GetTimestamp() + (long)((remaining + Options.VerdictSlack).TotalSeconds * Time.TimestampFrequency);
            (id, verdict) = connection.Send(build, deadline);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellation.IsCancellationRequested))
        {
            return null;   // not sent: nothing listens there now, or connecting took too long
        }

        return await AwaitVerdictAsync(connection, id, verdict, owner, timeout, cancellation).ConfigureAwait(false);
    }

    /// <summary>The owner's verdict; null when the owner stopped before reading the request (not handled: look
    /// again). The connection fails the verdict with <see cref="TimeoutException"/> once the call's remaining budget
    /// and <see cref="RouterOptions.VerdictSlack"/> have passed.</summary>
    private async Task<Frame?> AwaitVerdictAsync(PeerConnection connection, long id, Task<Frame> verdict, ClusteredTableOwner owner, TimeSpan timeout, CancellationToken cancellation)
    {
        try
        {
            return await verdict.WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // No verdict even after the slack: the owner may have started the handler; say so.
            connection.Forget(id);
            throw new CallTimeoutException(Pid.None, Describe(owner.Table, owner.NodeId), timeout, handlerStarted: true);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return await AwaitCancelledAsync(connection, id, verdict, owner, cancellation).ConfigureAwait(false);
        }
        catch (PeerLeftException)
        {
            return null;
        }
        catch (IOException e)
        {
            throw new RoutedCallFailedException(owner.Table, owner.NodeId, handlerStarted: true,
                $"The connection to node {owner.NodeId}, owner of clustered table '{owner.Table}', was lost after the request was sent; it may or may not have taken effect.", e);
        }
    }

    /// <summary>The caller gave up: the owner is told, and its verdict (was the handler started?) is awaited for the
    /// slack; a reply it had sent already is still returned, as for a local call.</summary>
    private async Task<Frame> AwaitCancelledAsync(PeerConnection connection, long id, Task<Frame> verdict, ClusteredTableOwner owner, CancellationToken cancellation)
    {
        connection.Cancel(id);
        try
        {
            return await verdict.WaitAsync(Options.VerdictSlack, Time).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException)
        {
            connection.Forget(id);
            throw new CallCanceledException(Pid.None, Describe(owner.Table, owner.NodeId), handlerStarted: true, cancellation);
        }
    }

    private Attempt Interpret(Frame reply, ClusteredTableOwner owner, TimeSpan timeout, CancellationToken cancellation)
    {
        var data = reply.Payload;
        var status = (ReplyStatus)data[0];
        if (status == ReplyStatus.Ok)
        {
            var offset = 1;
            var codecName = Frame.ReadString(data, ref offset);
            return new Attempt(true, codecName.Length == 0 ? null : Options.Codecs.Named(codecName).Read(data.AsSpan(offset)));
        }

        var started = data[1] != 0;
        var message = System.Text.Encoding.UTF8.GetString(data.AsSpan(2));
        var name = Describe(owner.Table, owner.NodeId);
        return status switch
        {
            ReplyStatus.NotOwner => Attempt.Retry,
            ReplyStatus.Timeout => throw new CallTimeoutException(Pid.None, name, timeout, started),
            ReplyStatus.Canceled => throw new CallCanceledException(Pid.None, name, started, cancellation),
            _ => throw new RoutedCallFailedException(owner.Table, owner.NodeId, started, message),
        };
    }

    /// <summary>Waits before looking for the owner again: 1 ms, doubling to <see cref="s_longestPause"/>, never past
    /// the deadline (the next attempt then reports the timeout).</summary>
    private async Task PauseAsync(int attempt, long started, TimeSpan timeout, string table, CancellationToken cancellation)
    {
        var pause = TimeSpan.FromMilliseconds(Math.Min(s_longestPause.TotalMilliseconds, 1 << Math.Min(attempt, 6)));
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            var left = timeout - Time.GetElapsedTime(started);
            pause = left < pause ? left : pause;
        }

        if (pause <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(pause, Time, cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new CallCanceledException(Pid.None, Describe(table), handlerStarted: false, cancellation);
        }
    }

    private static string Describe(string table, string? nodeId = null) =>
        nodeId is null ? $"{table} (a clustered table's worker)" : $"{table} (a clustered table's worker, on node {nodeId})";

    private readonly record struct Attempt(bool Done, object? Reply)
    {
        public static Attempt Retry => new(false, null);
    }
}
