using System.Diagnostics;
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
/// worker) as a replicated table. When the ownership is lost (fenced), the table is failed closed, the worker exits
/// with a <see cref="FencedException"/>, and the node goes back to waiting.
/// </summary>
internal sealed class ClusteredTableServer<TKey, TValue>(PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec) : GenServer
    where TKey : notnull
{
    private readonly TableFollower<TKey, TValue> _follower = new(cluster, options.Name, options.Type, keyCodec, valueCodec);
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
    private TimeSpan? _lastTakeover;
    private FencedException? _lastFencing;
    private MonitorRef _managerMonitor;
    private ShippingSpool? _spool;

    // What the manager's open takes, once, in its own process: the standby caught up and the replica at this epoch.
    private Ready? _ready;

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
        cluster.Follow(options.Name, () => QueueCatchUp(self));
        _ = FollowPeriodicallyAsync(Self, _stopping.Token);
        StartAcquiring();
        return InitResult.Ok;
    }

    protected override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        if (request is ClusteredTableStatusRequest)
        {
            return CallResult.Reply(new ClusteredTableStatus(options.Name, cluster.NodeId, _role, _ownership?.Epoch ?? 0, _follower.Applied, _takeovers, _fencings, _lastTakeover, _lastFencing, _replica?.Commits ?? 0, _replica?.CommittedWrites ?? 0));
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
            case FollowTick when _role == ClusteredTableRole.Standby:
                QueueCatchUp(Self);
                break;
            case Acquired acquired:
                await TakeOverAsync(acquired.Ownership);
                break;
            case AcquireFailed failed:
                ClusterLog.AcquireFailed(cluster.Logger, cluster.NodeId, options.Name, failed.Reason);
                await Task.Delay(TimeSpan.FromMilliseconds(100), _stopping.Token).ConfigureAwait(false);
                StartAcquiring();
                break;
            case Lost lost when lost.Ownership == _ownership:
                await FenceAsync(lost.Reason);
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
    /// <exception cref="CodecVersionException">The table's rows were written at a newer codec version than this node's:
    /// by a newer release.</exception>
    /// <exception cref="InvalidOperationException">Another type, other codecs, or an older codec version.</exception>
    private async Task RegisterAsync(CancellationToken cancellation)
    {
        await using var batch = cluster.Source.CreateBatch();
        var insert = new NpgsqlBatchCommand($"INSERT INTO {cluster.Schema.Tables} (name, table_type, key_codec, value_codec) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING");
        insert.Parameters.Add(new() { Value = options.Name });
        insert.Parameters.Add(new() { Value = options.Type.ToString() });
        insert.Parameters.Add(new() { Value = Recorded(keyCodec.Name, keyCodec.Version) });
        insert.Parameters.Add(new() { Value = Recorded(valueCodec.Name, valueCodec.Version) });
        var select = new NpgsqlBatchCommand($"SELECT table_type, key_codec, value_codec FROM {cluster.Schema.Tables} WHERE name = $1");
        select.Parameters.Add(new() { Value = options.Name });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(select);
        await using var reader = await batch.ExecuteReaderAsync(cancellation);
        await reader.ReadAsync(cancellation);
        var (type, keys, values) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
        var ((keyName, keyVersion), (valueName, valueVersion)) = (Parse(keys), Parse(values));
        if (type != options.Type.ToString() || !Matches(keyCodec, keyName) || !Matches(valueCodec, valueName))
        {
            throw new InvalidOperationException(
                $"Clustered table '{options.Name}' is a {type} table of ({keys}, {values}) in PostgreSQL, but this node opens it as a " +
                $"{options.Type} table of ({Recorded(keyCodec.Name, keyCodec.Version)}, {Recorded(valueCodec.Name, valueCodec.Version)}). Use the same type and codecs on every node, or another name.");
        }

        CheckVersion(keyCodec, keyName, keyVersion);
        CheckVersion(valueCodec, valueName, valueVersion);
    }

    /// <summary>Refuses a table whose rows this node's codec cannot read, naming both versions.</summary>
    private void CheckVersion<T>(ICodec<T> codec, string name, int version)
    {
        var where = $"Clustered table '{options.Name}' (in {cluster.Schema.Tables})";
        if (version > codec.Version)
        {
            throw new CodecVersionException(where, name, version, codec.OldestVersion, codec.Version);
        }

        if (version < codec.Version)
        {
            throw new InvalidOperationException(
                $"{where} holds {name} values at version {version}, but this node writes version {codec.Version}. Every node of a cluster must " +
                $"write a clustered table at the version its rows hold: run this release with the version {version} codec until every node has it, " +
                "then move the table to the new version by writing its data to a table of another name.");
        }
    }

    private static bool Matches<T>(ICodec<T> codec, string name) => name == codec.Name || codec.Aliases.Contains(name);

    /// <summary>A codec as files and the cluster record it: the name, and for a version above 1 <c>@v</c> and the version.</summary>
    private static string Recorded(string name, int version) => version == 1 ? name : $"{name}@v{version}";

    private static (string Name, int Version) Parse(string recorded)
    {
        var at = recorded.LastIndexOf("@v", StringComparison.Ordinal);
        return at > 0 && int.TryParse(recorded.AsSpan(at + 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && version > 1
            ? (recorded[..at], version)
            : (recorded, 1);
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

    private static async Task FollowPeriodicallyAsync(Pid self, TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                self.Send(FollowTick.Instance);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Task FollowPeriodicallyAsync(Pid self, CancellationToken stopping) => FollowPeriodicallyAsync(self, cluster.Options.FollowInterval, stopping);

    private void StartAcquiring()
    {
        _role = ClusteredTableRole.Standby;
        var self = Self;
        var stopping = _stopping.Token;
        _acquiring = Task.Run(async () =>
        {
            try
            {
                var ownership = await TableOwnership.AcquireAsync(cluster, options.Name, self, stopping).ConfigureAwait(false);
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
        var started = Stopwatch.GetTimestamp();
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
            await _follower.CatchUpAsync(_stopping.Token);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or FencedException)
        {
            await FenceAsync(e as FencedException ?? new FencedException(options.Name, ownership.Epoch, $"This node took clustered table '{options.Name}' but could not read its last commits: {e.Message}", e));
            return;
        }

        Volatile.Write(ref _ready, new Ready(_follower.Standby, _replica, lastSequence));
        _role = ClusteredTableRole.Owner;
        _takeovers++;
        await HandToManagerAsync();
        _lastTakeover = Stopwatch.GetElapsedTime(started);
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
    /// This node lost the table: the table fails closed (nothing more is read or written here), the manager stops
    /// managing it, the worker that held it exits with the fencing as reason, and this node loads the table afresh and
    /// waits for it again, at a new epoch.
    /// </summary>
    private async Task FenceAsync(FencedException fenced)
    {
        var ownership = _ownership!;
        _ownership = null;
        Volatile.Write(ref _ready, null);
        _fencings++;
        _lastFencing = fenced;
        ClusterLog.Fenced(cluster.Logger, cluster.NodeId, options.Name, ownership.Epoch, fenced);

        var table = Context.Node.Tables.WhereIs(options.Name);
        var worker = table?.Owner ?? default;
        _replica?.Fail(fenced);
        if (table is not null)
        {
            ReplicatedTable.Fail(table, fenced);
        }

        if (_managerMonitor != default)
        {
            Context.Demonitor(_managerMonitor, flush: true);
            _managerMonitor = default;
        }

        var manager = Context.Node.WhereIs(options.ManagerName);
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

        if (!worker.IsNone && worker != manager)
        {
            Context.Node.Exit(worker, ExitReason.Error(fenced));
        }

        _replica = null;
        _ = ownership.DisposeAsync().AsTask();   // a silent connection may take seconds to close; nothing waits on it
        try
        {
            await _follower.LoadAsync(_stopping.Token);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
        {
            // PostgreSQL is away: the takeover, when it comes, reads from the last sequence applied.
            ClusterLog.StandbyFailed(cluster.Logger, cluster.NodeId, options.Name, e);
        }

        StartAcquiring();
    }

    private sealed record Ready(ReplicaStandby<TKey, TValue> Standby, PostgresReplica Replica, long LastSequence);

    private sealed record CatchUp
    {
        public static readonly CatchUp Instance = new();
    }

    private sealed record FollowTick
    {
        public static readonly FollowTick Instance = new();
    }

    private sealed record Acquired(TableOwnership Ownership);

    private sealed record AcquireFailed(Exception Reason);

    private sealed record Lost(TableOwnership Ownership, FencedException Reason);
}
