using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// One clustered table on one node: a standby following the table's commits while another node owns it, and, once
/// this node gets the table's lock, the table's owner, handing it to the local table manager (and through it to the
/// worker) as a replicated table. When the ownership is lost (fenced), the table is failed closed, the worker is told
/// (<see cref="TableWithdrawn"/>) and waits for the table again without exiting, and the node goes back to waiting as a
/// standby.
/// </summary>
internal sealed class ClusteredTableServer<TKey, TValue>(PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec) : GenServer
    where TKey : notnull
{
    // The follower reads rows with the codecs at the versions the table records; the replica writes at their own.
    private readonly TableFollower<TKey, TValue> _follower = new(cluster, options.Name, options.Type, new ReadingCodec<TKey>(keyCodec), new ReadingCodec<TValue>(valueCodec));
    private readonly CancellationTokenSource _stopping = CancellationTokenSource.CreateLinkedTokenSource(cluster.Stopping);
    private ClusteredTableRole _role;
    private TableOwnership? _ownership;
    private PostgresReplica? _replica;
    private Task _acquiring = Task.CompletedTask;
    // 1 while a CatchUp is in the mailbox: notifications and ticks arriving meanwhile add nothing, so a standby reads
    // the changes once per burst of commits (and fails once, not once per queued notification, when PostgreSQL is away).
    private int _catchUpQueued;
    private int _takeovers;
    private int _fencings;
    private int _handOffs;
    private TimeSpan? _lastTakeover;
    private FencedException? _lastFencing;
    private MonitorRef _managerMonitor;
    private ShippingSpool? _spool;

    // What the manager's open takes, once, in its own process: the standby caught up and the replica at this epoch.
    private Ready? _ready;
    private Exception? _lastRefusal;

    protected override async ValueTask<InitResult> InitAsync()
    {
        // Trapping exits makes a supervisor's shutdown run TerminateAsync, which gives the table's lock up at once.
        Context.TrapExit = true;
        try
        {
            await RegisterAsync(_stopping.Token);
            await _follower.LoadAsync(_stopping.Token);
            _spool = options.LocalJournal is { } journal ? ShippingSpool.Open(Context.Node, options.Name, journal) : null;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or TableException)
        {
            return InitResult.Stop(ExitReason.Error(e));
        }

        var self = Self;
        var follower = _follower;
        cluster.Follow(options.Name, () => QueueCatchUp(self), () => follower.Applied, follower.Checked);
        cluster.Readable(options.Name, new LocalReads<TKey, TValue>(cluster, options.Name, follower, keyCodec, valueCodec));
        cluster.Serve(options);
        cluster.Balancer.Staying();
        StartAcquiring();
        return InitResult.Ok;
    }

    protected override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        if (request is ClusteredTableStatusRequest)
        {
            return CallResult.Reply(new ClusteredTableStatus(options.Name, cluster.NodeId, _role, _ownership?.Epoch ?? 0, _follower.Applied, _takeovers, _fencings, _lastTakeover, _lastFencing, _replica?.Commits ?? 0, _replica?.CommittedWrites ?? 0) { Refusal = _lastRefusal, HandOffs = _handOffs });
        }

        return await base.HandleCallAsync(request, from);
    }

    protected override async ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        switch (message)
        {
            case CatchUp:
                Volatile.Write(ref _catchUpQueued, 0);
                if (_role == ClusteredTableRole.Standby)
                {
                    await FollowAsync();
                }

                break;
            case Acquired acquired:
                await TakeOverAsync(acquired.Ownership);
                break;
            case AcquireFailed { Reason: CodecVersionException or InvalidOperationException } refused:
                // This node cannot read the table's rows (a newer release upgraded it): it waits, following nothing,
                // and looks again every follow interval, in case the table's codecs change back (a restore).
                ClusterLog.TableRefused(cluster.Logger, cluster.NodeId, options.Name, refused.Reason);
                _lastRefusal = refused.Reason;
                await Task.Delay(cluster.Options.FollowInterval, cluster.Time, _stopping.Token).ConfigureAwait(false);
                StartAcquiring();
                break;
            case AcquireFailed failed:
                ClusterLog.AcquireFailed(cluster.Logger, cluster.NodeId, options.Name, failed.Reason);
                await Task.Delay(TimeSpan.FromMilliseconds(100), cluster.Time, _stopping.Token).ConfigureAwait(false);
                StartAcquiring();
                break;
            case Lost lost when lost.Ownership == _ownership:
                await FenceAsync(lost.Reason);
                break;
            case HandOffRequest handOff when handOff.Ownership == _ownership && _role == ClusteredTableRole.Owner:
                var handedOff = await HandOffAsync(handOff.Successor);
                handOff.Done.TrySetResult(handedOff);
                if (handedOff)
                {
                    await FollowAfreshAsync();
                    StartAcquiring();
                }

                break;
            case HandOffRequest stale:
                stale.Done.TrySetResult(false);     // owned no more, or under another ownership
                break;
            case Down down when down.Ref == _managerMonitor:
                // The manager restarted: the table stayed with the node; the new manager adopts it once registered.
                _managerMonitor = default;
                Context.WatchName(options.ManagerName);
                break;
            case NameRegistered registered when registered.Name == options.ManagerName && _role == ClusteredTableRole.Owner && _managerMonitor == default:
                await HandToManagerAsync();
                break;
        }

        return ServerResult.Ok;
    }

    protected override async ValueTask TerminateAsync(ExitReason reason)
    {
        cluster.Unfollow(options.Name);
        cluster.Readable(options.Name, null);
        if (reason.Kind == ExitReasonKind.Shutdown)
        {
            cluster.Balancer.Leaving();
        }

        if (_role == ClusteredTableRole.Owner)
        {
            // Stopping (a host shutting down) hands the table off as a planned move: the last commits are made, then
            // the lock goes, reserved for the node balancing would choose, which takes it at once.
            await HandOffAsync(cluster.Balancer.SuccessorFor(options.Name));
        }

        // After the hand-off: the routed calls delivered before it finish here first.
        cluster.Unserve(options.Name);
        await _stopping.CancelAsync();
        await _acquiring.ConfigureAwait(false);
        if (_replica is not null)
        {
            await _replica.DisposeAsync();
        }

        if (_ownership is not null)
        {
            await _ownership.DisposeAsync();
        }

        _spool?.Dispose();
    }

    /// <summary>
    /// Records the table in PostgreSQL if it is new, and checks that every node agrees on its type, codecs and codec
    /// versions, before this node waits for the table's lock: a node that cannot read the table's rows never takes it.
    /// A codec is recorded as table files record it (its name, and <c>@v</c> and its version above 1); a name this
    /// node's codec lists as an alias matches.
    /// </summary>
    /// <exception cref="CodecVersionException">The table's values were written at a newer codec version than this
    /// node's (by a newer release), or at an older one its codec has no upgrade step from.</exception>
    /// <exception cref="InvalidOperationException">Another type or other codecs, or keys at another codec version.</exception>
    private async Task RegisterAsync(CancellationToken cancellation)
    {
        await using var batch = cluster.Source.CreateBatch();
        var insert = new NpgsqlBatchCommand($"INSERT INTO {cluster.Schema.Tables} (name, table_type, key_codec, value_codec) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING");
        insert.Parameters.Add(new() { Value = options.Name });
        insert.Parameters.Add(new() { Value = options.Type.ToString() });
        insert.Parameters.Add(new() { Value = RecordedCodec.Of(keyCodec) });
        insert.Parameters.Add(new() { Value = RecordedCodec.Of(valueCodec) });
        var select = new NpgsqlBatchCommand($"SELECT table_type, key_codec, value_codec FROM {cluster.Schema.Tables} WHERE name = $1");
        select.Parameters.Add(new() { Value = options.Name });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(select);
        await using var reader = await batch.ExecuteReaderAsync(cancellation);
        await reader.ReadAsync(cancellation);
        var (type, keys, values) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
        if (type != options.Type.ToString() || !RecordedCodec.NameMatches(keyCodec, keys) || !RecordedCodec.NameMatches(valueCodec, values))
        {
            throw new InvalidOperationException(
                $"Clustered table '{options.Name}' is a {type} table of ({keys}, {values}) in PostgreSQL, but this node opens it as a " +
                $"{options.Type} table of ({RecordedCodec.Of(keyCodec)}, {RecordedCodec.Of(valueCodec)}). Use the same type and codecs on every node, or another name.");
        }

        if (Refusal(keys, values) is { } refusal)
        {
            throw refusal;
        }
    }

    /// <summary>Why this node cannot take a table whose rows are recorded under these codecs, or null when it can: its
    /// value codec must read the recorded version (its own, or an older one through its upgrade steps); keys are
    /// never upgraded in a cluster, so the key codec's version must be the recorded one.</summary>
    private Exception? Refusal(string keys, string values)
    {
        var keyVersion = RecordedCodec.Parse(keys).Version;
        if (keyVersion != keyCodec.Version)
        {
            return keyVersion > keyCodec.Version
                ? new CodecVersionException($"Clustered table '{options.Name}'", RecordedCodec.Parse(keys).Name, keyVersion, keyCodec.Version, keyCodec.Version)
                : new InvalidOperationException($"Clustered table '{options.Name}' holds keys of {keys} at version {keyVersion}, but this node writes version {keyCodec.Version}; a clustered table's keys are not upgraded. Keep the key codec's version, and move the table's data to a table of another name to change it.");
        }

        try
        {
            RecordedCodec.ReadableVersion(valueCodec, values, options.Name);
            return null;
        }
        catch (CodecVersionException e)
        {
            return e;
        }
    }

    /// <summary>
    /// Taking a table whose values are recorded at an older version (or under an older name): rewrites every row's
    /// values at this node's version, through the codec's upgrade steps, and records the new codec, in one transaction
    /// fenced by the epoch, before the table is handed on. Followers of this release read on at the new version; nodes
    /// of the older release can no longer read the table, and refuse it.
    /// </summary>
    private async Task UpgradeRowsAsync(TableOwnership ownership)
    {
        // Nothing to upgrade (the usual takeover): the codec recorded when the lock was taken is this release's, so no
        // pooled connection is needed and the takeover does not wait behind the node's commits for one.
        var target = RecordedCodec.Of(valueCodec);
        if (ownership.ValueCodec == target)
        {
            return;
        }

        await using var connection = await cluster.Source.OpenConnectionAsync(_stopping.Token);
        await using var transaction = await connection.BeginTransactionAsync(_stopping.Token);
        string recorded;
        await using (var row = new NpgsqlCommand($"SELECT value_codec FROM {cluster.Schema.Tables} WHERE name = $1 AND epoch = $2 FOR UPDATE", connection, transaction))
        {
            row.Parameters.Add(new() { Value = options.Name });
            row.Parameters.Add(new() { Value = ownership.Epoch });
            recorded = await row.ExecuteScalarAsync(_stopping.Token) as string
                ?? throw new FencedException(options.Name, ownership.Epoch, $"Clustered table '{options.Name}' was taken over by another node while this node took it (epoch {ownership.Epoch}).");
        }

        if (recorded == target)
        {
            return;
        }

        var version = RecordedCodec.ReadableVersion(valueCodec, recorded, options.Name);
        var keys = new List<byte[]>();
        var states = new List<byte[]>();
        if (version != valueCodec.Version)
        {
            await using (var rows = new NpgsqlCommand($"SELECT key, state FROM {cluster.Schema.Rows} WHERE table_name = $1 AND state IS NOT NULL", connection, transaction))
            {
                rows.Parameters.Add(new() { Value = options.Name });
                await using var reader = await rows.ExecuteReaderAsync(_stopping.Token);
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                while (await reader.ReadAsync(_stopping.Token))
                {
                    var values = KeyStateEncoding.Decode(reader.GetFieldValue<byte[]>(1)).Select(old =>
                    {
                        buffer.ResetWrittenCount();
                        valueCodec.Write(buffer, valueCodec.ReadVersion(version, old));
                        return buffer.WrittenSpan.ToArray();
                    }).ToList();
                    keys.Add(reader.GetFieldValue<byte[]>(0));
                    states.Add(KeyStateEncoding.Encode(values)!);
                }
            }

            await using var rewrite = new NpgsqlCommand($"UPDATE {cluster.Schema.Rows} r SET state = u.s FROM unnest($2::bytea[], $3::bytea[]) AS u(k, s) WHERE r.table_name = $1 AND r.key = u.k", connection, transaction);
            rewrite.Parameters.Add(new() { Value = options.Name });
            rewrite.Parameters.Add(new() { Value = keys.ToArray() });
            rewrite.Parameters.Add(new() { Value = states.ToArray() });
            await rewrite.ExecuteNonQueryAsync(_stopping.Token);
        }

        await using (var record = new NpgsqlCommand($"UPDATE {cluster.Schema.Tables} SET value_codec = $2 WHERE name = $1", connection, transaction))
        {
            record.Parameters.Add(new() { Value = options.Name });
            record.Parameters.Add(new() { Value = target });
            await record.ExecuteNonQueryAsync(_stopping.Token);
        }

        await transaction.CommitAsync(_stopping.Token);
        _follower.ReadValuesAt(valueCodec.Version);
        ClusterLog.TableUpgraded(cluster.Logger, cluster.NodeId, options.Name, recorded, target, keys.Count);
    }

    private void QueueCatchUp(Pid self)
    {
        if (Interlocked.Exchange(ref _catchUpQueued, 1) == 0)
        {
            self.Send(CatchUp.Instance);
        }
    }

    private async Task FollowAsync()
    {
        try
        {
            await _follower.CatchUpAsync(_stopping.Token);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
        {
            // The next notification or tick tries again; a takeover reads what is missing in any case.
            ClusterLog.StandbyFailed(cluster.Logger, cluster.NodeId, options.Name, e);
        }
    }

    private void StartAcquiring()
    {
        _role = ClusteredTableRole.Standby;
        var self = Self;
        var stopping = _stopping.Token;
        _acquiring = Task.Run(async () =>
        {
            try
            {
                var ownership = await TableOwnership.AcquireAsync(cluster, options.Name, self, Refusal, stopping).ConfigureAwait(false);
                if (stopping.IsCancellationRequested || !self.IsAlive)
                {
                    await ownership.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                self.Send(new Acquired(ownership));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // Any failure to wait for the lock is tried again: a node that stopped waiting would never take over.
                self.Send(new AcquireFailed(e));
            }
        }, CancellationToken.None);
    }

    /// <summary>The lock is ours and the epoch bumped: nobody else can commit now. Read the last commits, then hand the
    /// standby, as the table, to the manager.</summary>
    private async Task TakeOverAsync(TableOwnership ownership)
    {
        var started = cluster.Time.GetTimestamp();
        _role = ClusteredTableRole.TakingOver;
        _ownership = ownership;
        var self = Self;
        _ = ownership.Lost.ContinueWith(lost => self.Send(new Lost(ownership, lost.Result)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _replica = new PostgresReplica(cluster, options.Name, ownership.Epoch, ownership.LastSequence, options.WritesWaitForCommit,
            fenced => self.Send(new Lost(ownership, fenced)), _spool, options.MaxUnshippedWrites);
        long lastSequence;
        try
        {
            lastSequence = await ShipLeftoversAsync(ownership);
            await _follower.CatchUpAsync(_stopping.Token, lastSequence);
            await UpgradeRowsAsync(ownership);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or FencedException)
        {
            await FenceAsync(e as FencedException ?? new FencedException(options.Name, ownership.Epoch, $"This node took clustered table '{options.Name}' but could not read its last commits: {e.Message}", e));
            return;
        }

        _lastRefusal = null;
        Volatile.Write(ref _ready, new Ready(_follower.Standby, _replica, lastSequence));
        _role = ClusteredTableRole.Owner;
        cluster.SetOwned(options.Name, ownership.Epoch);
        _takeovers++;
        await HandToManagerAsync();
        cluster.NotifyTaken(options.Name);
        _lastTakeover = cluster.Time.GetElapsedTime(started);
        ClusterLog.TookOver(cluster.Logger, cluster.NodeId, options.Name, ownership.Epoch, _follower.Standby.Count, _follower.Applied);
    }

    /// <summary>
    /// With a local journal: the writes a previous run of this node acknowledged but did not ship are shipped now, if
    /// this node owned the table last (its epoch is the one before); if another node owned it in between, they are
    /// discarded, as the option's bound says. Returns the sequence the table's writes continue from.
    /// </summary>
    private async Task<long> ShipLeftoversAsync(TableOwnership ownership)
    {
        if (_spool is null)
        {
            return ownership.LastSequence;
        }

        var last = ownership.LastSequence;
        var pending = _spool.Pending().Where(r => r.Sequence > ownership.LastSequence).ToList();
        if (pending.Count > 0 && _spool.Epoch == ownership.Epoch - 1)
        {
            last = await _replica!.ShipLeftoversAsync(pending);
            ClusterLog.LeftoversShipped(cluster.Logger, cluster.NodeId, options.Name, pending.Count);
        }
        else if (pending.Count > 0)
        {
            ClusterLog.LeftoversDiscarded(cluster.Logger, cluster.NodeId, options.Name, pending.Count, _spool.Epoch ?? 0, ownership.Epoch);
        }

        _spool.Discard();
        _spool.SetEpoch(ownership.Epoch);
        return last;
    }

    /// <summary>Gives the manager the table to manage (it opens it in its own process, so it owns it); a manager that
    /// is not running yet is waited for by name.</summary>
    private async Task HandToManagerAsync()
    {
        Context.WatchName(options.ManagerName);
        var manager = Context.Node.WhereIs(options.ManagerName);
        if (manager.IsNone || !manager.IsAlive)
        {
            return;
        }

        _managerMonitor = Context.Monitor(manager);
        try
        {
            await TableManager.AddTableAsync(manager, ManagedTable.Opened<TKey, TValue>(options.Name, Open) with { FindMeName = options.WorkerName, Gift = options.Gift });
        }
        catch (ArgumentException)
        {
            // A restarted manager may have been told already: it manages the table.
        }
        catch (CallFailedException)
        {
            // The manager died meanwhile: its Down brings the table to the next one.
        }
    }

    /// <summary>Run by the manager, in its process: the table, if this node owns it and the manager has not taken it
    /// already.</summary>
    private Table<TKey, TValue> Open(Node node, TableOptions managed)
    {
        var ready = Interlocked.Exchange(ref _ready, null) ?? throw new TableException(TableError.NoSuchTable,
            $"Node {cluster.NodeId} does not own clustered table '{options.Name}' now; its manager gets it when this node takes it over.");
        return ready.Standby.Promote(node, managed with { Type = options.Type, Access = options.Access }, ready.Replica, ready.LastSequence);
    }

    /// <summary>
    /// A planned move: the table takes no more writes (the worker is told it was withdrawn, and requests wait for a
    /// table again, bounded by their callers' deadlines), every write taken is committed, and only then is the lock
    /// released, reserved for <paramref name="successor"/>, which is already following the table and takes it when the
    /// release is notified. So at no moment do two nodes serve the table, and no acknowledged write is lost. Returns
    /// false when the replica failed before its writes were committed: the node is fenced instead.
    /// </summary>
    private async Task<bool> HandOffAsync(string? successor)
    {
        var ownership = _ownership!;

        // Routed calls arriving from now on are answered "not owner" and go to the successor, never queued here.
        cluster.SetOwned(options.Name, null);
        await cluster.HandingOffAsync(options.Name);
        ClusterLog.HandingOff(cluster.Logger, cluster.NodeId, options.Name, ownership.Epoch, successor ?? "any node");
        var started = cluster.Time.GetTimestamp();
        if (_replica is null || !await _replica.SealAsync())
        {
            return false;   // the replica's failure sends Lost, and the node is fenced as usual
        }

        var sealedAt = cluster.Time.GetTimestamp();

        _ownership = null;
        _role = ClusteredTableRole.Standby;
        Volatile.Write(ref _ready, null);
        _handOffs++;
        var reason = new FencedException(options.Name, ownership.Epoch, successor is null
            ? $"Clustered table '{options.Name}' was handed off by node {cluster.NodeId} (a planned move); send requests to its new owner."
            : $"Clustered table '{options.Name}' was handed off by node {cluster.NodeId} to node {successor} (a planned move); send requests to its new owner.");
        await WithdrawAsync(reason);
        cluster.Withdrawn(options.Name);
        var withdrawnAt = cluster.Time.GetTimestamp();
        await ownership.HandOffAsync(successor);
        ClusterLog.HandedOff(cluster.Logger, cluster.NodeId, options.Name, ownership.Epoch, successor ?? "any node",
            cluster.Time.GetElapsedTime(started, sealedAt).TotalMilliseconds, cluster.Time.GetElapsedTime(sealedAt, withdrawnAt).TotalMilliseconds, cluster.Time.GetElapsedTime(withdrawnAt).TotalMilliseconds);
        return true;
    }

    /// <summary>
    /// This node lost the table: the table fails closed (nothing more is read or written here), the worker that held it
    /// is told the table was withdrawn (a <c>TableWorker</c> drops it and waits for the next without exiting, so no
    /// restart intensity is spent), the manager stops managing it, and this node loads the table afresh and waits for it
    /// again, at a new epoch, as a standby.
    /// </summary>
    private async Task FenceAsync(FencedException fenced)
    {
        var ownership = _ownership!;
        cluster.SetOwned(options.Name, null);
        _ownership = null;
        Volatile.Write(ref _ready, null);
        _fencings++;
        _lastFencing = fenced;
        ClusterLog.Fenced(cluster.Logger, cluster.NodeId, options.Name, ownership.Epoch, fenced);
        await WithdrawAsync(fenced);
        cluster.Withdrawn(options.Name);
        _ = ownership.DisposeAsync().AsTask();   // the lock session releases the lock at its next turn; nothing waits on it
        await FollowAfreshAsync();
        StartAcquiring();
    }

    /// <summary>The table leaves this node: it fails closed, its worker is told, the manager stops managing it, and
    /// the replica stops.</summary>
    private async Task WithdrawAsync(FencedException reason)
    {
        var fenced = reason;
        var table = Context.Node.Tables.WhereIs(options.Name);
        var worker = table?.Owner ?? default;
        _replica?.Fail(fenced);
        if (table is not null)
        {
            ReplicatedTable.Fail(table, fenced);
        }

        var manager = Context.Node.WhereIs(options.ManagerName);
        if (table is not null && !worker.IsNone && worker != manager)
        {
            worker.Send(new TableWithdrawn(table, fenced));
        }

        if (_managerMonitor != default)
        {
            Context.Demonitor(_managerMonitor, flush: true);
            _managerMonitor = default;
        }

        if (!manager.IsNone && manager.IsAlive)
        {
            try
            {
                await TableManager.DeleteTableAsync(manager, options.Name);
            }
            catch (CallFailedException)
            {
            }
        }

        if (_replica is not null)
        {
            await _replica.DisposeAsync();
            _replica = null;
        }
    }

    /// <summary>The standby was promoted into the table, which is gone: the table is loaded afresh to follow it.</summary>
    private async Task FollowAfreshAsync()
    {
        try
        {
            await _follower.LoadAsync(_stopping.Token);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or OperationCanceledException)
        {
            // PostgreSQL is away (or the node stops): the takeover, when it comes, reads from the last sequence applied.
            ClusterLog.StandbyFailed(cluster.Logger, cluster.NodeId, options.Name, e);
        }
    }

    private sealed record Ready(ReplicaStandby<TKey, TValue> Standby, PostgresReplica Replica, long LastSequence);

    private sealed record CatchUp
    {
        public static readonly CatchUp Instance = new();
    }

    private sealed record Acquired(TableOwnership Ownership);

    private sealed record AcquireFailed(Exception Reason);

    private sealed record Lost(TableOwnership Ownership, FencedException Reason);
}
