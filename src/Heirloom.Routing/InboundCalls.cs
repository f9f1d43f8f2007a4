using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Postgres;

namespace Heirloom.Routing;

/// <summary>
/// Delivers the calls and casts other nodes route here to the tables' workers, only while this node owns the table
/// (checked before delivery: a node that lost the table answers "not owner" and the caller looks again, so a call is
/// never queued here for a later takeover), with the caller's remaining budget as the local call's timeout, so the
/// local deadline machinery skips a call whose caller has given up before its handler runs.
/// </summary>
internal sealed class InboundCalls
{
    private readonly ConcurrentDictionary<string, Deliveries> _deliveries = new(StringComparer.Ordinal);
    private readonly PostgresCluster _cluster;
    private readonly RouterOptions _options;

    public InboundCalls(PostgresCluster cluster, RouterOptions options)
    {
        _cluster = cluster;
        _options = options;
        cluster.OnHandingOff(DrainAsync);
    }

    public RouterOptions Options => _options;

    /// <summary>A planned hand-off of <paramref name="table"/> waits here for the calls already delivered to its worker
    /// (at most <see cref="RouterOptions.HandOffDrain"/>), so they finish on this node.</summary>
    public Task DrainAsync(string table) =>
        _deliveries.TryGetValue(table, out var deliveries) ? deliveries.DrainAsync(_options.HandOffDrain, _cluster.Node.TimeProvider) : Task.CompletedTask;

    /// <summary>Handles one call or cast frame, counted among the table's deliveries while it runs; the reply frame is
    /// the verdict. <paramref name="call"/> is cancelled when the caller gives up (or its connection is lost), and here
    /// too when this node lets the table go.</summary>
    public async Task<Frame> HandleAsync(Frame frame, CancellationTokenSource call)
    {
        var data = frame.Payload;
        var offset = 0;
        var table = Frame.ReadString(data, ref offset);
        if (frame.Kind == FrameKind.Lookup)
        {
            return Read(frame, table, offset);
        }

        var deliveries = _deliveries.GetOrAdd(table, _ => new Deliveries());
        deliveries.Enter();
        try
        {
            return await DeliverAsync(frame, table, offset, call).ConfigureAwait(false);
        }
        finally
        {
            deliveries.Exit();
        }
    }

    /// <summary>A read of a key of a table this node owns, from the table itself (the worker is not called, so a busy
    /// worker does not delay it): "not owner" unless this node owns the table for the whole of the read.</summary>
    private Frame Read(Frame frame, string table, int offset)
    {
        var data = frame.Payload;
        var keyType = Frame.ReadString(data, ref offset);
        var valueType = Frame.ReadString(data, ref offset);
        var keyCodec = Frame.ReadString(data, ref offset);
        var valueCodec = Frame.ReadString(data, ref offset);
        if (_cluster.Reads(table) is not { } reads)
        {
            return Frame.ReplyWithout(frame.Id, ReplyStatus.NotOwner, started: false, $"Node {_cluster.NodeId} does not serve clustered table '{table}'.");
        }

        if (reads.KeyType.FullName != keyType || reads.ValueType.FullName != valueType || reads.KeyCodecName != keyCodec || reads.ValueCodecName != valueCodec)
        {
            return Frame.ReplyWithout(frame.Id, ReplyStatus.TypeMismatch, started: false,
                ClusteredTableTypeException.Describe(reads.KeyType.FullName ?? reads.KeyType.Name, reads.KeyCodecName, reads.ValueType.FullName ?? reads.ValueType.Name, reads.ValueCodecName));
        }

        return reads.ReadOwned(data.AsSpan(offset)) is { } values
            ? Frame.ReplyValues(frame.Id, values)
            : Frame.ReplyWithout(frame.Id, ReplyStatus.NotOwner, started: false, $"Node {_cluster.NodeId} does not own clustered table '{table}' now.");
    }

    private async Task<Frame> DeliverAsync(Frame frame, string table, int offset, CancellationTokenSource call)
    {
        var data = frame.Payload;
        var budget = BitConverter.ToInt64(data, offset);
        offset += 8;
        var codecName = Frame.ReadString(data, ref offset);
        var owned = _cluster.OwnershipToken(table);
        if (owned.IsCancellationRequested || !_cluster.Owns(table) || _cluster.LocalTable(table) is not { } local)
        {
            return Frame.ReplyWithout(frame.Id, ReplyStatus.NotOwner, started: false, $"Node {_cluster.NodeId} does not own clustered table '{table}' now.");
        }

        object request;
        try
        {
            request = _options.Codecs.Named(codecName).Read(data.AsSpan(offset));
        }
        catch (MissingCodecException e)
        {
            return Frame.ReplyWithout(frame.Id, ReplyStatus.NoCodec, started: false, e.Message);
        }

        if (frame.Kind == FrameKind.Cast)
        {
            GenServer.Cast(_cluster.Node, local.WorkerName, request);
            return Frame.ReplyWith(frame.Id, codec: null, reply: null);
        }

        var timeout = budget < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(budget);

        // The table leaving cancels the call as its caller giving up would: a registration on the ownership token (its
        // nodes are reused), where a linked token source would be made and dropped per call.
        using var leaving = owned.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), call);
        return await CallWorkerAsync(frame.Id, table, local.WorkerName, request, timeout, call.Token, owned).ConfigureAwait(false);
    }

    /// <summary>Calls the worker until the caller gives up or this node has let the table go (<paramref name="owned"/>
    /// fires, and <paramref name="cancellation"/> with it): a call the worker had not started by then is answered "not
    /// owner", and the caller takes it to the next owner; the local deadline machinery guarantees it is never started
    /// here.</summary>
    private async Task<Frame> CallWorkerAsync(long id, string table, string worker, object request, TimeSpan budget, CancellationToken cancellation, CancellationToken owned)
    {
        object? reply;
        try
        {
            reply = await GenServer.CallAsync(_cluster.Node, worker, request, budget, cancellation).ConfigureAwait(false);
        }
        catch (CallCanceledException e) when (owned.IsCancellationRequested)
        {
            return e.HandlerStarted
                ? Frame.ReplyWithout(id, ReplyStatus.Failed, started: true, $"Node {_cluster.NodeId} let clustered table '{table}' go while its worker handled the request, which may or may not have taken effect.")
                : Frame.ReplyWithout(id, ReplyStatus.NotOwner, started: false, $"Node {_cluster.NodeId} let clustered table '{table}' go before its worker started the request.");
        }
        catch (CallFailedException e) when (!e.HandlerStarted && !_cluster.Owns(table))
        {
            // The worker exited (its node stopping) before it started the request, and the table has left: the next
            // owner takes it.
            return Frame.ReplyWithout(id, ReplyStatus.NotOwner, started: false, e.Message);
        }
        catch (CallTimeoutException e)
        {
            return Frame.ReplyWithout(id, ReplyStatus.Timeout, e.HandlerStarted, e.Message);
        }
        catch (CallCanceledException e)
        {
            return Frame.ReplyWithout(id, ReplyStatus.Canceled, e.HandlerStarted, e.Message);
        }
        catch (CallFailedException e)
        {
            return Frame.ReplyWithout(id, ReplyStatus.Failed, e.HandlerStarted, e.Message);
        }

        if (reply is null)
        {
            return Frame.ReplyWith(id, codec: null, reply: null);
        }

        try
        {
            return Frame.ReplyWith(id, _options.Codecs.For(reply), reply);
        }
        catch (MissingCodecException e)
        {
            return Frame.ReplyWithout(id, ReplyStatus.NoCodec, started: true, e.Message);
        }
    }
}
