using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;

namespace Heirloom.Routing;

/// <summary>
/// A connection from another node, as Kestrel hands it over (after TLS, when on): the peer is challenged to prove the
/// shared secret, then its calls are read and each handled concurrently, their replies written through one
/// <see cref="FrameWriter"/>. A cancel frame cancels the local call it names. When the router stops, it stops reading,
/// says goodbye with the last call it read (the peer knows every later one was not handled, and sends it elsewhere),
/// and answers the calls it has before closing.
/// </summary>
internal sealed class RoutingConnectionHandler(InboundCalls calls, IHostApplicationLifetime lifetime) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var writer = new FrameWriter(connection.Transport.Output);
        try
        {
            if (await AuthenticateAsync(input, writer, connection.ConnectionClosed).ConfigureAwait(false))
            {
                await ServeAsync(input, writer, connection.ConnectionClosed).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException or ConnectionResetException)
        {
            // The peer went away or broke the protocol: its calls' callers see the connection lost.
        }
        finally
        {
            writer.Complete();
            await writer.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<bool> AuthenticateAsync(PipeReader input, FrameWriter writer, CancellationToken closed)
    {
        var challenge = PeerAuthentication.NewChallenge();
        writer.TryWrite(new Frame(FrameKind.Challenge, 0, challenge));
        var hello = await ReadFrameAsync(input, closed).ConfigureAwait(false);
        if (hello is not { Kind: FrameKind.Hello } answer || !PeerAuthentication.Verify(calls.Options.Secret, challenge, answer.Payload))
        {
            writer.TryWrite(new Frame(FrameKind.Refused, 0, Encoding.UTF8.GetBytes("its shared secret does not match this node's (RouterOptions.Secret)")));
            return false;
        }

        writer.TryWrite(new Frame(FrameKind.Welcome, 0, []));
        return true;
    }

    private async Task ServeAsync(PipeReader input, FrameWriter writer, CancellationToken closed)
    {
        var running = new ConcurrentDictionary<long, CancellationTokenSource>();
        var unanswered = new Deliveries();
        var lastRead = 0L;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(closed, lifetime.ApplicationStopping);
        try
        {
            while (await ReadFrameAsync(input, reading.Token).ConfigureAwait(false) is { } frame)
            {
                switch (frame.Kind)
                {
                    case FrameKind.Call or FrameKind.Cast or FrameKind.Lookup:
                        lastRead = Math.Max(lastRead, frame.Id);
                        // Not linked to the connection's token (a registration per call): the calls still running
                        // when the connection closes are cancelled below.
                        var source = new CancellationTokenSource();
                        running[frame.Id] = source;
                        unanswered.Enter();
                        _ = HandleAsync(frame, writer, running, source, unanswered);
                        break;
                    case FrameKind.Cancel when running.TryGetValue(frame.Id, out var call):
                        call.Cancel();
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !closed.IsCancellationRequested)
        {
            writer.TryWrite(new Frame(FrameKind.Goodbye, lastRead, []));
            await unanswered.DrainAsync(calls.Options.VerdictSlack + calls.Options.HandOffDrain, TimeProvider.System).ConfigureAwait(false);
        }
        finally
        {
            CancelAll(running);
        }
    }

    /// <summary>The connection ends (the peer is gone, or the drain of a stopping router is over): nobody waits for the
    /// calls still running, so those not started yet never start.</summary>
    private static void CancelAll(ConcurrentDictionary<long, CancellationTokenSource> running)
    {
        foreach (var call in running.Values)
        {
            try
            {
                call.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It finished meanwhile.
            }
        }
    }

    private async Task HandleAsync(Frame frame, FrameWriter writer, ConcurrentDictionary<long, CancellationTokenSource> running, CancellationTokenSource source, Deliveries unanswered)
    {
        try
        {
            writer.TryWrite(await calls.HandleAsync(frame, source).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            // A failure of this node's own (a codec that threw): the caller gets it, not a silent drop.
            writer.TryWrite(Frame.ReplyWithout(frame.Id, ReplyStatus.Failed, started: true, $"Node failed handling the routed call: {e.Message}"));
        }
        finally
        {
            running.TryRemove(frame.Id, out _);
            source.Dispose();
            unanswered.Exit();
        }
    }

    /// <summary>The next frame, or null when the peer closed the connection.</summary>
    internal static async ValueTask<Frame?> ReadFrameAsync(PipeReader input, CancellationToken cancellation)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellation).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Frame.TryRead(ref buffer, out var frame))
            {
                input.AdvanceTo(buffer.Start);
                return frame;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }
}
