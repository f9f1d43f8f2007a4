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
/// A table taken from the worker through no fault of its own (<see cref="TableWithdrawn"/>, or a request meeting a table
/// failed by a <see cref="Tables.TableWithdrawnException"/>) is dropped: that request fails, the worker does not exit,
/// and it waits for its next table as for its first (<see cref="OnTableWithdrawnAsync"/> runs first).
/// </summary>
/// <typeparam name="TKey">The table's key type.</typeparam>
/// <typeparam name="TValue">The table's value type.</typeparam>
public abstract class TableWorker<TKey, TValue> : GenServer
    where TKey : notnull
{
    private Table<TKey, TValue>? _table;

    /// <summary>Creates the worker; until its table arrives, it takes only the table (and stop requests), leaving every
    /// other message queued, in order, and every call not started.</summary>
    protected TableWorker() => ReceiveFilter = IsTableOrStop;

    /// <summary>The table this worker owns. Always set when a handler of this class runs.</summary>
    /// <exception cref="InvalidOperationException">Read before the table arrived (from the constructor or InitAsync).</exception>
    protected Table<TKey, TValue> Table => _table ?? throw new InvalidOperationException($"{GetType().Name} does not hold its table yet; use it in the Handle...Async methods, which run only once it arrived.");

    private protected override QueuedCallsOnCrash DefaultQueuedCallsOnCrash => QueuedCallsOnCrash.HandToSuccessor;

    /// <summary>The table arrived (from the manager, or from a previous owner); runs before any waiting request.</summary>
    /// <param name="table">The table, now owned by this worker.</param>
    /// <param name="gift">The manager's gift.</param>
    protected virtual ValueTask OnTableAsync(Table<TKey, TValue> table, object? gift) => ValueTask.CompletedTask;

    /// <summary>The table was taken from this worker through no fault of its own (a clustered table's node lost it); the
    /// worker has dropped it, and from now on waits for its next table as for its first. Drop what is derived from it.</summary>
    /// <param name="reason">Why.</param>
    protected virtual ValueTask OnTableWithdrawnAsync(Tables.TableWithdrawnException reason) => ValueTask.CompletedTask;

    /// <summary>
    /// Answers <paramref name="from"/> with <paramref name="reply"/> once the writes made to the table so far are
    /// acknowledged by its fsync policy, and lets the worker go on to the next request meanwhile: return the result
    /// from <see cref="HandleTableCallAsync"/>. With <see cref="Persistence.FsyncPolicy.Always"/> that is once they are
    /// on disk: open the table with <see cref="Persistence.DurabilityOptions.WritesWaitForFsync"/> off, so writes do not
    /// each wait for their own fsync, and the writes of many requests in flight share fsyncs. With the other policies,
    /// and for a table that is not durable, the answer goes at once.
    /// </summary>
    /// <remarks>
    /// The answer does not need the worker: when the worker crashes or is killed before the writes are durable (a
    /// later request's handler threw, say), the caller is still answered once they are, so a caller told the call
    /// failed can rely on its writes not being acknowledged. If the journal fails first, the caller's call fails with
    /// the journal's failure (the writes were not acknowledged; they may or may not be in the table that is recovered
    /// from disk) and the worker exits with it.
    /// </remarks>
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
        if (durable.IsCompletedSuccessfully || !from.TryDefer())
        {
            // Durable already; or the caller has given up, and there is no one to answer.
            return durable.IsCompletedSuccessfully ? CallResult.Reply(reply) : CallResult.NoReply;
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
            // A withdrawn table is no fault of the worker's: the caller's write is not acknowledged, and the worker
            // drops the table (on the TableWithdrawn its owner is sent, or at its next request) instead of exiting.
            var reason = Processes.ExitReason.Error(e);
            from.Fail(worker, reason);
            if (!Tables.TableWithdrawnException.IsWithdrawal(e))
            {
                node.Exit(worker, reason);
            }
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
        try
        {
            return await HandleTableCallAsync(request, from);
        }
        catch (Exception e) when (IsWithdrawn(e))
        {
            if (from.TryDefer())
            {
                from.Fail(Self, Processes.ExitReason.Error(e));
            }

            await DropTableAsync(e);
            return CallResult.NoReply;
        }
    }

    /// <inheritdoc />
    protected internal sealed override async ValueTask<ServerResult> HandleCastAsync(object message)
    {
        try
        {
            return await HandleTableCastAsync(message);
        }
        catch (Exception e) when (IsWithdrawn(e))
        {
            await DropTableAsync(e);
            return ServerResult.Ok;
        }
    }

    /// <inheritdoc />
    protected internal sealed override async ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        if (message is TableWithdrawn withdrawn)
        {
            // Only the table this worker holds: a withdrawal that reaches it after its next table arrived is stale.
            if (_table is not null && ReferenceEquals(withdrawn.Table, _table))
            {
                await DropTableAsync(withdrawn.Reason);
            }

            return ServerResult.Ok;
        }

        if (message is TableTransfer { Table: Table<TKey, TValue> table } transfer)
        {
            // The messages that waited for the table are received from now on, in their order, after this event.
            _table = table;
            ReceiveFilter = null;
            await OnTableAsync(table, transfer.Gift);
            return ServerResult.Ok;
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

        try
        {
            return await HandleTableInfoAsync(message);
        }
        catch (Exception e) when (IsWithdrawn(e))
        {
            await DropTableAsync(e);
            return ServerResult.Ok;
        }
    }

    /// <summary>Whether a handler's exception comes from the worker's table having been withdrawn (not the worker's
    /// fault): the exception says so, or the table's failure does.</summary>
    private bool IsWithdrawn(Exception e) =>
        _table is { } table && (Tables.TableWithdrawnException.IsWithdrawal(e) || Tables.TableWithdrawnException.IsWithdrawal(table.Failure));

    /// <summary>Forgets the table and waits for the next one, as before the first: only the table (or a stop) is taken
    /// from the mailbox until it arrives.</summary>
    private async ValueTask DropTableAsync(Exception cause)
    {
        _table = null;
        ReceiveFilter = IsTableOrStop;
        await OnTableWithdrawnAsync(FindWithdrawal(cause) ?? new Tables.TableWithdrawnException("The table was withdrawn from this worker.", cause));
    }

    private static Tables.TableWithdrawnException? FindWithdrawal(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Tables.TableWithdrawnException withdrawal)
            {
                return withdrawal;
            }
        }

        return null;
    }

    /// <summary>What a worker without its table takes: the table (or the refusal of one), a stop, and an exit signal
    /// from its parent or the node, which stops it.</summary>
    private bool IsTableOrStop(object message) =>
        message is TableTransfer or HandOffRefused or TableWithdrawn or StopRequest ||
        (message is Processes.ExitSignal exit && (exit.From == Context.Parent || exit.From.IsNone));
}
