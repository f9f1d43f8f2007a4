using Heirloom.Behaviours;
using Heirloom.Tables;

namespace Heirloom.Management;

/// <summary>
/// A GenServer that works on one managed table and is never asked to work without it: requests, casts and messages
/// that arrive before a <see cref="TableManager"/> hands it the table (its name can be registered from the start, so the
/// manager finds it) wait, in order, and are handled once the table is here. The handlers below therefore always have
/// <see cref="Table"/>. <see cref="OnTableAsync"/> is the "ready" event, where the worker rebuilds what it derives from
/// the table, before any waiting request is handled. A table of other key or value types is never taken: a manager
/// does not hand it over, and the worker exits with a <see cref="TableTypeMismatchException"/> naming both types.
/// </summary>
/// <typeparam name="TKey">The table's key type.</typeparam>
/// <typeparam name="TValue">The table's value type.</typeparam>
public abstract class TableWorker<TKey, TValue> : GenServer
    where TKey : notnull
{
    private readonly Queue<Waiting> _waiting = new();
    private Table<TKey, TValue>? _table;

    /// <summary>The table this worker owns. Always set when a handler of this class runs.</summary>
    /// <exception cref="InvalidOperationException">Read before the table arrived (from the constructor or InitAsync).</exception>
    protected Table<TKey, TValue> Table => _table ?? throw new InvalidOperationException($"{GetType().Name} does not hold its table yet; use it in the Handle...Async methods, which run only once it arrived.");

    /// <summary>The table arrived (from the manager, or from a previous owner); runs before any waiting request.</summary>
    /// <param name="table">The table, now owned by this worker.</param>
    /// <param name="gift">The manager's gift.</param>
    protected virtual ValueTask OnTableAsync(Table<TKey, TValue> table, object? gift) => ValueTask.CompletedTask;

    /// <summary>
    /// Answers <paramref name="from"/> with <paramref name="reply"/> once the writes made to the table so far are
    /// acknowledged by its fsync policy, and lets the worker go on to the next request meanwhile: return the result
    /// from <see cref="HandleTableCallAsync"/>. With <see cref="Persistence.FsyncPolicy.Always"/> that is once they are
    /// on disk: open the table with <see cref="Persistence.DurabilityOptions.WritesWaitForFsync"/> off, so writes do not
    /// each wait for their own fsync, and the writes of many requests in flight share fsyncs. With the other policies,
    /// and for a table that is not durable, the answer goes at once. If the journal fails first, the caller is not
    /// answered and the worker exits with the failure, so the caller's call fails (the write was not acknowledged).
    /// </summary>
    /// <param name="from">The caller.</param>
    /// <param name="reply">The reply.</param>
    /// <returns>The reply itself when the writes are already durable; otherwise <see cref="CallResult.NoReply"/>.</returns>
    protected CallResult ReplyWhenDurable(CallFrom from, object? reply)
    {
        ArgumentNullException.ThrowIfNull(from);
        if (Table.UntypedStore is not Persistence.IAcknowledgedStore { AcknowledgesLater: true } store)
        {
            return CallResult.Reply(reply);
        }

        var durable = store.WhenDurableAsync();
        if (durable.IsCompletedSuccessfully)
        {
            return CallResult.Reply(reply);
        }

        _ = ReplyLaterAsync(durable, from, reply, Self, Context.Node);
        return CallResult.NoReply;
    }

    private static async Task ReplyLaterAsync(ValueTask durable, CallFrom from, object? reply, Processes.Pid worker, Processes.Node node)
    {
        try
        {
            await durable.ConfigureAwait(false);
            from.Reply(reply);
        }
        catch (TableException e)
        {
            node.Exit(worker, Processes.ExitReason.Error(e));
        }
    }

    /// <summary>Handles a call, holding the table (see <see cref="GenServer.HandleCallAsync"/>).</summary>
    /// <param name="request">The request.</param>
    /// <param name="from">The caller.</param>
    protected virtual ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) => base.HandleCallAsync(request, from);

    /// <summary>Handles a cast, holding the table (see <see cref="GenServer.HandleCastAsync"/>).</summary>
    /// <param name="message">The message.</param>
    protected virtual ValueTask<ServerResult> HandleTableCastAsync(object message) => base.HandleCastAsync(message);

    /// <summary>Handles any other message, holding the table (see <see cref="GenServer.HandleInfoAsync"/>).</summary>
    /// <param name="message">The message.</param>
    protected virtual ValueTask<ServerResult> HandleTableInfoAsync(object message) => base.HandleInfoAsync(message);

    /// <inheritdoc />
    protected internal sealed override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        if (_table is null)
        {
            _waiting.Enqueue(new Waiting(Kind.Call, request, from));
            return CallResult.NoReply;
        }

        return await HandleTableCallAsync(request, from);
    }

    /// <inheritdoc />
    protected internal sealed override async ValueTask<ServerResult> HandleCastAsync(object message)
    {
        if (_table is null)
        {
            _waiting.Enqueue(new Waiting(Kind.Cast, message, null));
            return ServerResult.Ok;
        }

        return await HandleTableCastAsync(message);
    }

    /// <inheritdoc />
    protected internal sealed override async ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        if (message is TableTransfer { Table: Table<TKey, TValue> table } transfer)
        {
            _table = table;
            await OnTableAsync(table, transfer.Gift);
            return await HandleWaitingAsync();
        }

        // Waiting for a table of other types would hang every request until its timeout: fail now, naming both types.
        // The table, given to this worker, goes back to its heir when the worker exits.
        if (message is HandOffRefused refused)
        {
            return ServerResult.Stop(Processes.ExitReason.Error(refused.Reason));
        }

        if (_table is null && message is TableTransfer { Table: var other })
        {
            return ServerResult.Stop(Processes.ExitReason.Error(new TableTypeMismatchException(other.Name ?? other.ToString(), other.KeyType, other.ValueType, Self, typeof(TKey), typeof(TValue))));
        }

        if (_table is null)
        {
            _waiting.Enqueue(new Waiting(Kind.Info, message, null));
            return ServerResult.Ok;
        }

        return await HandleTableInfoAsync(message);
    }

    /// <summary>Handles what waited for the table, in arrival order; a stop ends it there (the callers still waiting
    /// see the server exit, as any caller of a stopping server does).</summary>
    private async ValueTask<ServerResult> HandleWaitingAsync()
    {
        while (_waiting.TryDequeue(out var waiting))
        {
            var (stop, continueWith) = await HandleOneAsync(waiting);
            while (stop is null && continueWith is not null)
            {
                var next = await HandleContinueAsync(continueWith);
                (stop, continueWith) = (next.StopReason, next.ContinueWith);
            }

            if (stop is not null)
            {
                return ServerResult.Stop(stop);
            }
        }

        return ServerResult.Ok;
    }

    private async ValueTask<(Processes.ExitReason? Stop, object? ContinueWith)> HandleOneAsync(Waiting waiting)
    {
        switch (waiting.Kind)
        {
            case Kind.Call:
                var reply = await HandleTableCallAsync(waiting.Message, waiting.From!);
                if (reply.HasReply)
                {
                    waiting.From!.Reply(reply.Value);
                }

                return (reply.StopReason, reply.ContinueWith);
            case Kind.Cast:
                var cast = await HandleTableCastAsync(waiting.Message);
                return (cast.StopReason, cast.ContinueWith);
            default:
                var info = await HandleTableInfoAsync(waiting.Message);
                return (info.StopReason, info.ContinueWith);
        }
    }

    private enum Kind
    {
        Call,
        Cast,
        Info,
    }

    private sealed record Waiting(Kind Kind, object Message, CallFrom? From);
}
