using System.Collections.Concurrent;
using System.Globalization;
using Heirloom.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// A node's membership in a cluster that shares clustered tables through PostgreSQL: it creates the cluster's schema
/// if missing, records the node in it (and that it is alive, every second), and listens for the commits of clustered
/// tables so that their standbys follow them. Start one per node, then start each clustered table's server
/// (<see cref="ClusteredTable.ChildSpec{TKey, TValue}"/>) under a supervisor; dispose it after them.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (Action Changed, Func<long> Applied, Action<long, long> Checked)> _followers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalReads> _reads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ClusteredTableOptions> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _owned = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _ownedUntil = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _takenLock = new();

    // Tables taken over and not yet notified (see NotifyTaken), and whether a statement sending them is under way.
    private readonly List<string> _takenToNotify = [];
    private bool _notifyingTaken;
    private volatile string? _address;
    private volatile Func<string, Task>? _handingOff;
    private Task _heartbeat = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;
    private Task _following = Task.CompletedTask;

    private PostgresCluster(Node node, PostgresClusterOptions options, ILogger logger)
    {
        Node = node;
        Options = options;
        Logger = logger;
        Schema = new ClusterSchema(options.Schema);

        // A node's connections, whatever the number of its tables: the pool (commits, reads, membership), at most
        // MaxPoolSize; the lock session, holding every table's lock; the listening connection. Each is named after the
        // node in pg_stat_activity (application_name), unless the connection string names them.
        var named = new NpgsqlConnectionStringBuilder(options.ConnectionString).ApplicationName is { Length: > 0 };
        var pooled = new NpgsqlConnectionStringBuilder(options.ConnectionString) { Enlist = false, MaxPoolSize = options.MaxPoolSize, MinPoolSize = options.MaxPoolSize };
        if (!named)
        {
            pooled.ApplicationName = $"heirloom:{options.NodeId}/pool";
        }

        // Each pooled connection runs the commit function once as it opens, so that a takeover's first commit costs
        // what a steady one does (CommitWarmUp).
        var schema = Schema;
        var source = new NpgsqlDataSourceBuilder(pooled.ConnectionString);
        source.UsePhysicalConnectionInitializer(connection => CommitWarmUp.Run(connection, schema), connection => CommitWarmUp.RunAsync(connection, schema));
        Source = source.Build();

        // The lock session and the listening connection are never pooled: closing one must end its session, and its
        // advisory locks with it. The session's keepalive settings make the server notice a silent owner; the client's
        // make this node notice a silent server. The lock session runs the same few statements for as long as it
        // lives, so they are prepared, each planned once for any list of tables (a plan for the values at hand would
        // be made again at every poll, for lists of hundreds of names).
        var dedicated = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            Enlist = false,
            Pooling = false,
            TcpKeepAlive = true,
            TcpKeepAliveTime = (int)options.KeepaliveIdle.TotalSeconds,
            TcpKeepAliveInterval = (int)options.KeepaliveInterval.TotalSeconds,
            MaxAutoPrepare = 32,
            AutoPrepareMinUsages = 2,
            Options = string.Create(CultureInfo.InvariantCulture,
                $"-c tcp_keepalives_idle={(int)options.KeepaliveIdle.TotalSeconds} -c tcp_keepalives_interval={(int)options.KeepaliveInterval.TotalSeconds} " +
                $"-c tcp_keepalives_count={options.KeepaliveCount} -c tcp_user_timeout={(int)options.TcpUserTimeout.TotalMilliseconds} -c plan_cache_mode=force_generic_plan"),
        };
        dedicated.ApplicationName = named ? dedicated.ApplicationName : $"heirloom:{options.NodeId}/locks";
        DedicatedSource = NpgsqlDataSource.Create(dedicated);
        dedicated.ApplicationName = named ? dedicated.ApplicationName : $"heirloom:{options.NodeId}/listen";
        ListenSource = NpgsqlDataSource.Create(dedicated);
        Locks = new LockSession(this);
        Balancer = new Balancer(this);
    }

    /// <summary>The node.</summary>
    public Node Node { get; }

    /// <summary>The node's clock, which the cluster's leases, checks and polls count on.</summary>
    internal TimeProvider Time => Node.TimeProvider;

    /// <summary>The options.</summary>
    public PostgresClusterOptions Options { get; }

    /// <summary>This node's identity in the cluster.</summary>
    public string NodeId => Options.NodeId;

    internal ILogger Logger { get; }

    internal ClusterSchema Schema { get; }

    /// <summary>Pooled connections: commits, reads, membership.</summary>
    internal NpgsqlDataSource Source { get; }

    /// <summary>Unpooled connections with keepalives: the lock session.</summary>
    internal NpgsqlDataSource DedicatedSource { get; }

    /// <summary>Unpooled connections with keepalives: notifications.</summary>
    internal NpgsqlDataSource ListenSource { get; }

    /// <summary>The session holding every lock of the node's clustered tables.</summary>
    internal LockSession Locks { get; }

    /// <summary>Keeps this node at its fair share of the tables.</summary>
    internal Balancer Balancer { get; }

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Joins the cluster: creates the schema if missing and records this node.</summary>
    /// <param name="node">The node.</param>
    /// <param name="options">Where PostgreSQL is, and the detection settings.</param>
    /// <param name="logger">Where takeovers, fencing and connection losses are logged; none by default.</param>
    /// <param name="cancellation">Stops waiting for PostgreSQL.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (the message says which).</exception>
    /// <exception cref="NpgsqlException">PostgreSQL could not be reached.</exception>
    public static async Task<PostgresCluster> StartAsync(Node node, PostgresClusterOptions options, ILogger? logger = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var cluster = new PostgresCluster(node, options, logger ?? NullLogger.Instance);
        try
        {
            // The schema is made on a connection of its own, so that every pooled connection opens after it exists and
            // is warmed as it opens; then the whole pool is opened, before any table is taken.
            await cluster.Schema.EnsureAsync(cluster.DedicatedSource, cancellation).ConfigureAwait(false);
            await cluster.OpenPoolAsync(cancellation).ConfigureAwait(false);
            await cluster.RecordMemberAsync(cancellation).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        cluster._heartbeat = cluster.HeartbeatAsync();
        cluster._listener = cluster.ListenAsync();
        cluster._following = cluster.FollowPeriodicallyAsync();
        cluster.Locks.Start();
        cluster.Balancer.Start();
        return cluster;
    }

    /// <summary>The nodes PostgreSQL knows, oldest first.</summary>
    /// <param name="cancellation">Stops waiting.</param>
    public async Task<IReadOnlyList<ClusterMember>> GetMembersAsync(CancellationToken cancellation = default)
    {
        await using var command = Source.CreateCommand($"SELECT node_id, host, process_id, started_at, last_seen, serving, address FROM {Schema.Nodes} ORDER BY started_at");
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var members = new List<ClusterMember>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            members.Add(new ClusterMember(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4))
            {
                Serving = reader.GetFieldValue<string[]>(5),
                Address = reader.IsDBNull(6) ? null : reader.GetString(6),
            });
        }

        return members;
    }

    /// <summary>Records where other nodes reach this node for calls routed to the tables it owns; kept in its membership
    /// record (written again if the record is re-created) until the node leaves.</summary>
    /// <param name="address">The address, as the router that listens there reads it (e.g. <c>tcp://10.0.0.5:7400</c>).</param>
    /// <param name="cancellation">Stops waiting.</param>
    /// <exception cref="ArgumentException">The address is empty.</exception>
    public async Task AdvertiseAsync(string address, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        _address = address;
        await using var command = Source.CreateCommand($"UPDATE {Schema.Nodes} SET address = $2 WHERE node_id = $1");
        command.Parameters.Add(new() { Value = NodeId });
        command.Parameters.Add(new() { Value = address });
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Who owns a clustered table as PostgreSQL records it now: the node that took it last (at
    /// <see cref="ClusteredTableOwner.Epoch"/>) and its advertised address. The record may lag a move or takeover in
    /// progress (it names the node that last took the table until the next one does); a node asked for a table checks
    /// <see cref="Owns"/> itself. Null when no node ever registered the table.</summary>
    /// <param name="table">The table's name.</param>
    /// <param name="cancellation">Stops waiting.</param>
    public async Task<ClusteredTableOwner?> FindOwnerAsync(string table, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        await using var command = Source.CreateCommand(
            $"SELECT t.owner_node, t.epoch, n.address FROM {Schema.Tables} t LEFT JOIN {Schema.Nodes} n ON n.node_id = t.owner_node WHERE t.name = $1");
        command.Parameters.Add(new() { Value = table });
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            return null;
        }

        return new ClusteredTableOwner(table, reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <summary>Whether this node owns the table now: its server took the table and has begun neither a hand-off nor a
    /// fencing. A call delivered to the table's worker only while this holds never waits on this node for a later
    /// takeover.</summary>
    /// <param name="table">The table's name.</param>
    public bool Owns(string table) => _owned.ContainsKey(table);

    /// <summary>A token cancelled once this node has let the table go (a hand-off or fencing done: every write the
    /// table took is committed or failed, and its worker was told): a request still waiting on this node for the table
    /// then never gets it here. Already cancelled when this node does not own the table.</summary>
    /// <param name="table">The table's name.</param>
    public CancellationToken OwnershipToken(string table) =>
        _ownedUntil.TryGetValue(table, out var owned) ? owned.Token : new CancellationToken(canceled: true);

    /// <summary>Sets what a planned hand-off of a table waits for once this node has stopped counting itself the owner
    /// (<see cref="Owns"/> is false) and before it makes the table's last commits: a router waits there for the calls it
    /// had already delivered to the table's worker, so they finish on this node instead of meeting a table that left.
    /// The wait should be bounded; the hand-off goes on when it ends, or fails.</summary>
    /// <param name="beforeLastCommits">Called with the table's name; null for none.</param>
    public void OnHandingOff(Func<string, Task>? beforeLastCommits) => _handingOff = beforeLastCommits;

    /// <summary>Runs the <see cref="OnHandingOff"/> wait for <paramref name="table"/>; its failure does not stop the
    /// hand-off.</summary>
    internal async Task HandingOffAsync(string table)
    {
        if (_handingOff is not { } wait)
        {
            return;
        }

        try
        {
            await wait(table).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ClusterLog.HandingOffWaitFailed(Logger, NodeId, table, e);
        }
    }

    /// <summary>The options of a clustered table whose server runs on this node (owner or standby), or null.</summary>
    /// <param name="table">The table's name.</param>
    public ClusteredTableOptions? LocalTable(string table) => _local.GetValueOrDefault(table);

    /// <summary>The clustered tables PostgreSQL knows, by name.</summary>
    /// <param name="cancellation">Stops waiting.</param>
    public async Task<IReadOnlyList<ClusteredTableInfo>> GetTablesAsync(CancellationToken cancellation = default)
    {
        await using var command = Source.CreateCommand(
            $"SELECT t.name, t.epoch, t.last_sequence, t.owner_node, t.owned_since, (SELECT count(*) FROM {Schema.Rows} r WHERE r.table_name = t.name AND r.state IS NOT NULL) " +
            $"FROM {Schema.Tables} t ORDER BY t.name");
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var tables = new List<ClusteredTableInfo>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            tables.Add(new ClusteredTableInfo(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4), reader.GetInt64(5)));
        }

        return tables;
    }

    /// <summary>Opens every pooled connection (each warmed as it opens, see <see cref="CommitWarmUp"/>) and returns it
    /// to the pool, which keeps them (its minimum is its maximum): a takeover's first commit does not open one.</summary>
    private async Task OpenPoolAsync(CancellationToken cancellation)
    {
        var connections = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < Options.MaxPoolSize; i++)
            {
                connections.Add(await Source.OpenConnectionAsync(cancellation).ConfigureAwait(false));
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Leaves the cluster: hands off every table this node still owns (each after its last commit, to the node
    /// balancing would choose; within <see cref="PostgresClusterOptions.LeaseTimeout"/>), stops listening and heartbeats,
    /// and removes this node's record. Stopping the clustered tables' servers first hands their tables off the same
    /// way.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        // Tables still served here (the node is disposed after the cluster, or its servers still run) are handed off
        // first, each after its last commit, so the others take them at once and no write acknowledged is lost.
        await Balancer.HandOffAllAsync(Options.LeaseTimeout).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_heartbeat, _listener, _following).ConfigureAwait(false);
        await Balancer.DisposeAsync().ConfigureAwait(false);
        await Locks.DisposeAsync().ConfigureAwait(false);
        try
        {
            await using var command = Source.CreateCommand($"DELETE FROM {Schema.Nodes} WHERE node_id = $1");
            command.Parameters.Add(new() { Value = NodeId });
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // PostgreSQL is gone: the record stays, and its last_seen says when the node was last alive.
        }

        await Source.DisposeAsync().ConfigureAwait(false);
        await DedicatedSource.DisposeAsync().ConfigureAwait(false);
        await ListenSource.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Asks to be told when a table's commits arrive (and after the listening connection was lost, when some
    /// may have been missed, and when the periodic check finds commits after <paramref name="applied"/>); the periodic
    /// check also reports each table's last sequence and the timestamp it began at to <paramref name="checkedAt"/>.</summary>
    internal void Follow(string table, Action changed, Func<long> applied, Action<long, long> checkedAt) => _followers[table] = (changed, applied, checkedAt);

    internal void Unfollow(string table) => _followers.TryRemove(table, out _);

    /// <summary>Reads of a table's data on this node, from its server's start to its stop.</summary>
    internal void Readable(string table, LocalReads? reads)
    {
        if (reads is null)
        {
            _reads.TryRemove(table, out _);
        }
        else
        {
            _reads[table] = reads;
        }
    }

    /// <summary>The reads of <paramref name="table"/>'s data on this node (owner or standby), or null when no server of
    /// it runs here.</summary>
    internal LocalReads? Reads(string table) => _reads.GetValueOrDefault(table);

    /// <summary>A table's server runs on this node from now on (until <see cref="Unserve"/>).</summary>
    internal void Serve(ClusteredTableOptions options) => _local[options.Name] = options;

    internal void Unserve(string table)
    {
        _local.TryRemove(table, out _);
        _owned.TryRemove(table, out _);
        Withdrawn(table);
    }

    /// <summary>This node has let <paramref name="table"/> go: <see cref="OwnershipToken"/> fires.</summary>
    internal void Withdrawn(string table)
    {
        // Cancelled, not disposed: a reader may be linking the token at this moment.
        if (_ownedUntil.TryRemove(table, out var owned))
        {
            owned.Cancel();
        }
    }

    /// <summary>This node owns <paramref name="table"/> at <paramref name="epoch"/> (or, with null, no longer does).</summary>
    internal void SetOwned(string table, long? epoch)
    {
        if (epoch is { } owned)
        {
            _ownedUntil[table] = new CancellationTokenSource();
            _owned[table] = owned;
        }
        else
        {
            _owned.TryRemove(table, out _);
        }
    }

    /// <summary>The tables this node runs a server for (from its start to its stop, whatever its role meanwhile): what
    /// balancing divides among the nodes.</summary>
    internal string[] Running => [.. _followers.Keys];

    private async Task RecordMemberAsync(CancellationToken cancellation)
    {
        await using var command = Source.CreateCommand(
            $"INSERT INTO {Schema.Nodes} (node_id, host, process_id, weight, address) VALUES ($1, $2, $3, $4, $5) " +
            "ON CONFLICT (node_id) DO UPDATE SET host = excluded.host, process_id = excluded.process_id, started_at = now(), last_seen = now(), serving = ARRAY[]::text[], weight = excluded.weight, address = excluded.address");
        command.Parameters.Add(new() { Value = NodeId });
        command.Parameters.Add(new() { Value = Environment.MachineName });
        command.Parameters.Add(new() { Value = Environment.ProcessId });
        command.Parameters.Add(new() { Value = Options.Weight });
        command.Parameters.Add(new() { Value = (object?)_address ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), Time);
        var ran = 0;

        // What the record holds, as last written (null: write it again); the lists are written only when they changed,
        // since with many tables they are the bulk of the row.
        (string[] Held, string[] Waiting)? recorded = null;
        try
        {
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false))
            {
                try
                {
                    // What it serves is what its lock session holds now: a table lost is gone from it at once.
                    // What it waits for is where planned moves may send tables: a standby already following them.
                    // A change of how many tables it runs is notified, so that the others balance at once.
                    var (held, waiting) = (Locks.Held, Locks.Waiting);
                    var runs = held.Length + waiting.Length;
                    var same = recorded is { } last && last.Held.SequenceEqual(held) && last.Waiting.SequenceEqual(waiting);
                    await using var command = Source.CreateCommand(same
                        ? $"UPDATE {Schema.Nodes} SET last_seen = now() WHERE node_id = $1"
                        : $"UPDATE {Schema.Nodes} SET last_seen = now(), serving = $2, waiting = $3 WHERE node_id = $1 " +
                          $"RETURNING CASE WHEN $4 THEN pg_notify('{Schema.MembersChannel}', $1) END");
                    command.Parameters.Add(new() { Value = NodeId });
                    if (!same)
                    {
                        command.Parameters.Add(new() { Value = held });
                        command.Parameters.Add(new() { Value = waiting });
                        command.Parameters.Add(new() { Value = runs != ran });
                    }

                    recorded = null;
                    if (await command.ExecuteNonQueryAsync(Stopping).ConfigureAwait(false) == 0)
                    {
                        await RecordMemberAsync(Stopping).ConfigureAwait(false);
                        continue;
                    }

                    recorded = (held, waiting);
                    ran = runs;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    // PostgreSQL unreachable for now: the owners' own checks decide what that means for their tables.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A notification may be lost with a connection: every <see cref="PostgresClusterOptions.FollowInterval"/>,
    /// one statement reads every followed table's last committed sequence, and the followers behind it are told.</summary>
    private async Task FollowPeriodicallyAsync()
    {
        using var timer = new PeriodicTimer(Options.FollowInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(Stopping).ConfigureAwait(false))
            {
                var tables = _followers.Keys.ToArray();
                if (tables.Length == 0)
                {
                    continue;
                }

                try
                {
                    // Taken before the statement: every commit acknowledged before it is in the statement's snapshot.
                    var began = Time.GetTimestamp();
                    await using var command = Source.CreateCommand($"SELECT name, last_sequence FROM {Schema.Tables} WHERE name = ANY($1)");
                    command.Parameters.Add(new() { Value = tables });
                    await using var reader = await command.ExecuteReaderAsync(Stopping).ConfigureAwait(false);
                    while (await reader.ReadAsync(Stopping).ConfigureAwait(false))
                    {
                        if (!_followers.TryGetValue(reader.GetString(0), out var follower))
                        {
                            continue;
                        }

                        if (reader.GetInt64(1) > follower.Applied())
                        {
                            follower.Changed();
                        }
                        else
                        {
                            follower.Checked(reader.GetInt64(1), began);
                        }
                    }
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
                {
                    // PostgreSQL unreachable for now: the next tick, or the listener's reconnection, tells the followers.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Tells the cluster that this node has taken <paramref name="table"/> over, so that the node that handed it
    /// off, if one did, starts its next hand-off. Sent after the takeover, off its path, one statement at a time for
    /// every table taken meanwhile (a node taking hundreds of tables after a failure sends a few statements, not hundreds);
    /// if it is lost, the giver's wait ends with the reservation (<see cref="PostgresClusterOptions.HandOffTimeout"/>).</summary>
    internal void NotifyTaken(string table)
    {
        lock (_takenLock)
        {
            _takenToNotify.Add(table);
            if (_notifyingTaken)
            {
                return;
            }

            _notifyingTaken = true;
        }

        _ = Task.Run(NotifyTakenAsync);
    }

    private async Task NotifyTakenAsync()
    {
        while (true)
        {
            string[] tables;
            lock (_takenLock)
            {
                if (_takenToNotify.Count == 0)
                {
                    _notifyingTaken = false;
                    return;
                }

                tables = [.. _takenToNotify];
                _takenToNotify.Clear();
            }

            try
            {
                await using var command = Source.CreateCommand("SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t");
                command.Parameters.Add(new() { Value = Schema.TakenChannel });
                command.Parameters.Add(new() { Value = tables });
                await command.ExecuteNonQueryAsync(Stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
            {
                // Pacing only: the givers' waits are bounded. The loop goes on, so that later tables are still sent.
            }
        }
    }

    /// <summary>One LISTEN connection for the whole node: commits (a table's standby reads them) and releases of
    /// tables' locks (the lock session tries the waited tables at once). After it is lost, every standby is told to read
    /// the changes it may have missed, and the waited tables are tried.</summary>
    private async Task ListenAsync()
    {
        while (!Stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = await ListenSource.OpenConnectionAsync(Stopping).ConfigureAwait(false);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == Schema.ReleasedChannel)
                    {
                        Locks.Released(e.Payload);
                    }
                    else if (e.Channel == Schema.TakenChannel)
                    {
                        Balancer.Taken(e.Payload);
                    }
                    else if (e.Channel == Schema.MembersChannel)
                    {
                        if (e.Payload != NodeId)
                        {
                            Balancer.Wake();
                        }
                    }
                    else if (_followers.TryGetValue(e.Payload, out var follower))
                    {
                        follower.Changed();
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {Schema.Channel}; LISTEN {Schema.ReleasedChannel}; LISTEN {Schema.MembersChannel}; LISTEN {Schema.TakenChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(Stopping).ConfigureAwait(false);
                }

                foreach (var follower in _followers.Values)
                {
                    follower.Changed();
                }

                Locks.Wake(poll: true);

                while (true)
                {
                    await connection.WaitAsync(Stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
            {
                ClusterLog.ListenerLost(Logger, NodeId, e);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), Time, Stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
