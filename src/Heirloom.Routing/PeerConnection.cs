using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Heirloom.Routing;

/// <summary>
/// This node's one connection to a peer, shared by every call to it: calls are multiplexed by correlation id, written
/// through one <see cref="FrameWriter"/>, and their verdicts matched back by a single reading loop. When the
/// connection is lost, every call still waiting on it fails as lost (its handler may have started). A call's deadline
/// is kept with it, and one timer per connection fails the calls whose deadline has passed, instead of a timer per call.
/// </summary>
internal sealed class PeerConnection : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _sweepPeriod;

    // Made once authenticated, disposed when the reading loop ends: a connection that failed its handshake has none.
    private ITimer? _sweeper;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly FrameWriter _writer;
    private long _nextId;
    private Task _reading = Task.CompletedTask;

    // Volatile: a sender lists its call, then reads this; the reader clears it, then fails every listed call. So a
    // call is either refused at sending or failed with the connection, never left waiting.
    private volatile bool _open = true;

    // The last call the peer read before it said goodbye; long.MaxValue until it does.
    private long _goodbyeAfter = long.MaxValue;

    private PeerConnection(string address, Stream stream, TimeSpan sweepPeriod, TimeProvider time)
    {
        Address = address;
        _time = time;
        _sweepPeriod = sweepPeriod;
        _stream = stream;
        _input = PipeReader.Create(stream);
        _writer = new FrameWriter(PipeWriter.Create(stream));
    }

    public string Address { get; }

    /// <summary>False once the connection is lost; the pool then makes a new one.</summary>
    public bool IsOpen => _open;

    /// <summary>Connects to <paramref name="address"/> (<c>tcp://host:port</c> or <c>tls://host:port</c>) and
    /// authenticates.</summary>
    /// <exception cref="PeerRefusedException">The peer refused the secret, or TLS failed.</exception>
    /// <exception cref="SocketException">The peer is not listening (it may be dead).</exception>
    public static async Task<PeerConnection> ConnectAsync(string address, RouterOptions options, TimeProvider time, CancellationToken cancellation)
    {
        var (tls, host, port) = ParseAddress(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellation).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (tls)
            {
                stream = await SecureAsync(stream, address, host, options, cancellation).ConfigureAwait(false);
            }

            var connection = new PeerConnection(address, stream, SweepPeriod(options), time);
            await connection.HandshakeAsync(options.Secret, cancellation).ConfigureAwait(false);
            connection._sweeper = time.CreateTimer(static state => ((PeerConnection)state!).FailExpired(), connection, connection._sweepPeriod, connection._sweepPeriod);
            connection._reading = connection.ReadAsync();
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends a call or cast and waits for its verdict frame.</summary>
    /// <param name="request">Makes the frame, given its correlation id.</param>
    /// <param name="deadline">When to stop waiting (a timestamp of the router's clock), failing the verdict with
    /// <see cref="TimeoutException"/>; <see cref="long.MaxValue"/> for never.</param>
    /// <returns>The pending verdict; the frame is queued before this returns.</returns>
    /// <exception cref="IOException">The connection is lost, so the frame was not sent.</exception>
    public (long Id, Task<Frame> Verdict) Send(Func<long, Frame> request, long deadline = long.MaxValue)
    {
        var id = Interlocked.Increment(ref _nextId);
        var verdict = new PendingCall(deadline);
        _pending[id] = verdict;
        if (!IsOpen || !_writer.TryWrite(request(id)))
        {
            _pending.TryRemove(id, out _);
            throw new IOException($"The connection to {Address} is closed; the request was not sent.");
        }

        return (id, verdict.Task);
    }

    /// <summary>Tells the peer the caller gave up on call <paramref name="id"/>.</summary>
    public void Cancel(long id) => _writer.TryWrite(new Frame(FrameKind.Cancel, id, []));

    /// <summary>Stops waiting for call <paramref name="id"/>; a late verdict is dropped.</summary>
    public void Forget(long id) => _pending.TryRemove(id, out _);

    public async ValueTask DisposeAsync()
    {
        _open = false;
        _sweeper?.Dispose();
        _writer.Complete();
        await _writer.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _stream.DisposeAsync().ConfigureAwait(false);
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>How often expired calls are looked for: a call waits at most this much past its deadline, which is
    /// small beside the verdict's slack after it.</summary>
    private static TimeSpan SweepPeriod(RouterOptions options) =>
        TimeSpan.FromTicks(Math.Clamp(options.VerdictSlack.Ticks / 5, TimeSpan.TicksPerMillisecond, 50 * TimeSpan.TicksPerMillisecond));

    /// <summary>Fails the calls whose deadline has passed; their late verdicts are dropped.</summary>
    private void FailExpired()
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var now = _time.GetTimestamp();
        foreach (var (id, call) in _pending)
        {
            if (call.Deadline <= now && _pending.TryRemove(id, out var expired))
            {
                expired.TrySetException(new TimeoutException($"No verdict from {Address} by the call's deadline."));
            }
        }
    }

    internal static (bool Tls, string Host, int Port) ParseAddress(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("tcp" or "tls") || uri.Port <= 0)
        {
            throw new ArgumentException($"'{address}' is not a router address; one looks like tcp://host:port or tls://host:port.", nameof(address));
        }

        return (uri.Scheme == "tls", uri.Host, uri.Port);
    }

    private static async Task<Stream> SecureAsync(Stream stream, string address, string host, RouterOptions options, CancellationToken cancellation)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                RemoteCertificateValidationCallback = options.ValidatePeerCertificate,
                ClientCertificates = options.RequirePeerCertificates && options.Certificate is { } own ? [own] : null,
            }, cancellation).ConfigureAwait(false);
            return ssl;
        }
        catch (AuthenticationException e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new PeerRefusedException(address, "the TLS handshake failed (" + e.Message + ")", e);
        }
    }

    private async Task HandshakeAsync(string? secret, CancellationToken cancellation)
    {
        var challenge = await RoutingConnectionHandler.ReadFrameAsync(_input, cancellation).ConfigureAwait(false);
        switch (challenge)
        {
            case null:
                throw new IOException($"The node at {Address} closed the connection before authentication; nothing was sent to it.");
            case { Kind: not FrameKind.Challenge }:
                throw new PeerRefusedException(Address, "it did not speak the routing protocol (is TLS on at one end only?)");
        }

        var nonce = challenge.Value;

        _writer.TryWrite(new Frame(FrameKind.Hello, 0, PeerAuthentication.Answer(secret, nonce.Payload)));
        var answer = await RoutingConnectionHandler.ReadFrameAsync(_input, cancellation).ConfigureAwait(false);
        switch (answer)
        {
            case { Kind: FrameKind.Welcome }:
                return;
            case { Kind: FrameKind.Refused } refused:
                throw new PeerRefusedException(Address, Encoding.UTF8.GetString(refused.Payload));
            case null:
                throw new IOException($"The node at {Address} closed the connection during authentication; nothing was sent to it.");
            default:
                throw new PeerRefusedException(Address, "it did not speak the routing protocol");
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await RoutingConnectionHandler.ReadFrameAsync(_input, CancellationToken.None).ConfigureAwait(false) is { } frame)
            {
                if (frame.Kind == FrameKind.Reply && _pending.TryRemove(frame.Id, out var verdict))
                {
                    verdict.TrySetResult(frame);
                }
                else if (frame.Kind == FrameKind.Goodbye)
                {
                    Volatile.Write(ref _goodbyeAfter, frame.Id);
                    _open = false;
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException or SocketException)
        {
            // Lost: every waiting call fails below.
        }
        finally
        {
            _open = false;
            _sweeper?.Dispose();
            _writer.Complete();
            foreach (var id in _pending.Keys)
            {
                if (_pending.TryRemove(id, out var verdict))
                {
                    verdict.TrySetException(id > Volatile.Read(ref _goodbyeAfter)
                        ? new PeerLeftException($"The node at {Address} stopped before it read the request; it was not handled.")
                        : new IOException($"The connection to {Address} was lost."));
                }
            }
        }
    }

    /// <summary>A call waiting for its verdict, with its deadline.</summary>
    private sealed class PendingCall(long deadline) : TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Deadline { get; } = deadline;
    }
}
