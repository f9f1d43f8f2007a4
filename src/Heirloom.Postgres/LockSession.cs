using System.Diagnostics;
using Heirloom.Processes;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// The one PostgreSQL session that holds all of a node's clustered tables' locks (session advisory locks, one per table),
/// whatever the number of tables. One loop owns the connection and runs, in order: the unlocks of tables given up or
/// lost; every <see cref="PostgresClusterOptions.CheckInterval"/>, the session's lease, one row in <c>leases</c> that
/// stands for every table it holds (so renewing costs one row whatever the number of tables); and, for the tables
/// waited for, the poll: one statement that ends the sessions of owners whose lease expired and one that tries every
/// waited table's lock (<c>pg_try_advisory_lock</c>, never waiting), followed by the takeover of those it got.
/// </summary>
/// <remarks>
/// <para>The full poll runs when this lock connection opens, when a backend that was alive at the last look has ended,
/// and every <see cref="FullPollInterval"/> in any case; a notified release, or a wait that begins, tries that table's
/// lock alone, in the same statements. A killed owner's session ends without notifying
/// anyone, but its backend leaves the server's list of backends only after its locks are released; so every
/// <see cref="PostgresClusterOptions.TakeoverPollInterval"/>, one statement that reads only that list (no table, no lock)
/// tells whether any backend seen at the last look is gone, and the poll follows at once if one is. What that look cannot
/// see (a backend that started, took a waited table and ended between two looks, an owner frozen with its lease
/// expiring, a reservation running out, a notification lost) the full poll finds. The epochs of the tables held are
/// checked (read, not written) at the same pace: a table whose epoch moved is lost.</para>
/// <para>A table a planned hand-off reserved for another node (until its reservation ends) is not tried, and
/// reservations made for this node of tables it does not wait for are given back at each poll.</para>
/// <para>
/// Advisory locks are re-entrant within a session, so this class never asks for a lock it holds (or is about to
/// unlock): a table is in at most one of <c>_held</c> and <c>_unlocks</c>, and is tried only when in neither. When the
/// session ends, every lock it held is gone with it: every ownership taken on it is lost, and the unlocks still queued
/// for it are dropped, never run on the next session (where they could release a lock taken again).</para>
/// </remarks>
internal sealed class LockSession : IAsyncDisposable
{
    private readonly PostgresCluster _cluster;
    private readonly string _lockPrefix;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Waiter> _waiting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TableOwnership> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _unlocks = new(StringComparer.Ordinal);

    // Planned hand-offs among the queued unlocks: the table is reserved for the successor (at the epoch released) in the
    // same turn as it is unlocked, before the unlock, so the node that finds it free finds the reservation too.
    private readonly Dictionary<string, (string Successor, long Epoch)> _handOffs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private Task _loop = Task.CompletedTask;
    private Task _watchdog = Task.CompletedTask;
    private NpgsqlConnection? _connection;

    // Cancelled by the watchdog when a statement on the session has not returned within the owner deadline: the loop
    // then drops the session (and every lock with it) and opens a new one.
    private CancellationTokenSource _session = new();
    private int _wakeQueued;
    private int _pollNow;

    // Tables to try at the loop's next turn without trying every waited one: a release was notified for each, or a
    // wait for it began. Guarded by _lock; a full poll empties it.
    private readonly HashSet<string> _tryNow = new(StringComparer.Ordinal);

    // The server's backends at the last look (or the last poll); only the loop reads and writes it.
    private HashSet<int> _backends = [];
    private long _lastSuccess;
    private long _inFlightSince;
    private bool _disposed;

    public LockSession(PostgresCluster cluster)
    {
        _cluster = cluster;
        _lockPrefix = $"heirloom.table:{cluster.Schema.Name}.";
        _lastSuccess = Now();
    }

    /// <summary>The tables this node owns now, by name.</summary>
    public string[] Held
    {
        get
        {
            lock (_lock)
            {
                return [.. _held.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The ownerships this node holds now.</summary>
    public TableOwnership[] Owned
    {
        get
        {
            lock (_lock)
            {
                return [.. _held.Values];
            }
        }
    }

    /// <summary>The tables this node waits for now (a standby follows each), by name.</summary>
    public string[] Waiting
    {
        get
        {
            lock (_lock)
            {
                return [.. _waiting.Where(w => w.Value.Holder.IsAlive).Select(w => w.Key).Order(StringComparer.Ordinal)];
            }
        }
    }

    public void Start()
    {
        _loop = Task.Run(RunAsync);
        _watchdog = Task.Run(WatchDeadlineAsync);
    }

    /// <summary>Waits (as long as it takes) for the table's lock, then takes the table by bumping its epoch.</summary>
    /// <exception cref="InvalidOperationException">Another live process of this node waits for or holds the table.</exception>
    public async Task<TableOwnership> AcquireAsync(string table, Pid holder, Func<string, string, Exception?> refuse, CancellationToken cancellation)
    {
        var waiter = new Waiter(holder, refuse);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_waiting.TryGetValue(table, out var other) && other.Holder.IsAlive)
            {
                throw new InvalidOperationException($"Clustered table '{table}' is already waited for on node {_cluster.NodeId} by {other.Holder}; run one server per table on a node.");
            }

            if (_held.TryGetValue(table, out var owner))
            {
                if (owner.Holder.IsAlive)
                {
                    throw new InvalidOperationException($"Clustered table '{table}' is already owned on node {_cluster.NodeId} by {owner.Holder}; run one server per table on a node.");
                }

                // Its server is gone without giving it up (killed): the lock goes now rather than at the next renewal.
                LoseLocked(owner, $"The process serving clustered table '{table}' on this node exited.", null);
            }

            _waiting[table] = waiter;
            _tryNow.Add(table);
        }

        Wake(poll: false);
        await using var registration = cancellation.Register(() =>
        {
            lock (_lock)
            {
                if (_waiting.TryGetValue(table, out var current) && current == waiter)
                {
                    _waiting.Remove(table);
                }
            }

            waiter.Done.TrySetCanceled(cancellation);
        }).ConfigureAwait(false);
        return await waiter.Done.Task.ConfigureAwait(false);
    }

    /// <summary>A release of <paramref name="table"/> was notified: the loop tries its lock at its next turn, if the
    /// table is waited for here (and not every waited table's, as a full poll does).</summary>
    public void Released(string table)
    {
        lock (_lock)
        {
            _tryNow.Add(table);
        }

        Wake(poll: false);
    }

    /// <summary>Wakes the loop; with <paramref name="poll"/>, it tries every waited table's lock at once (notifications
    /// may have been missed, or a backend ended).</summary>
    public void Wake(bool poll)
    {
        if (poll)
        {
            Volatile.Write(ref _pollNow, 1);
        }

        if (Interlocked.Exchange(ref _wakeQueued, 1) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Gives the table up: its lock is released (and the release notified) by the loop; completes once it
    /// was, or once the session that held it is gone.</summary>
    /// <param name="ownership">The ownership given up.</param>
    /// <param name="successor">For a planned hand-off, the node the table is reserved for (for
    /// <see cref="PostgresClusterOptions.HandOffTimeout"/>), so that no other node takes it meanwhile; null for none.</param>
    public Task ReleaseAsync(TableOwnership ownership, string? successor = null)
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            if (_disposed || !_held.TryGetValue(ownership.Table, out var current) || current != ownership)
            {
                return Task.CompletedTask;
            }

            _held.Remove(ownership.Table);
            done = Unlock(ownership.Table);
            if (successor is not null && successor != _cluster.NodeId)
            {
                _handOffs[ownership.Table] = (successor, ownership.Epoch);
            }
        }

        Wake(poll: false);
        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loop, _watchdog).ConfigureAwait(false);
        if (_connection is { } connection)
        {
            // Released explicitly, so the standbys are notified now instead of at their next poll.
            try
            {
                using var bounded = new CancellationTokenSource(_cluster.Options.OwnerDeadline, _cluster.Time);
                await UnlockAllAsync(connection, bounded.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                // The session is closing in any case, and its locks go with it.
            }

            await CloseAsync(connection).ConfigureAwait(false);
        }

        List<Waiter> waiters;
        lock (_lock)
        {
            waiters = [.. _waiting.Values];
            _waiting.Clear();
            foreach (var owned in _held.Values)
            {
                owned.Lose($"This node left the cluster and gave up clustered table '{owned.Table}'.", null);
            }

            _held.Clear();
            foreach (var unlock in _unlocks.Values)
            {
                unlock.TrySetResult();
            }

            _unlocks.Clear();
            _handOffs.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.Done.TrySetCanceled(_stopping.Token);
        }

        _session.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        var nextRenewal = 0L;
        var nextCheck = 0L;
        var nextLook = 0L;
        var failedOpens = 0;
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (_session.IsCancellationRequested && _connection is not null)
                {
                    Drop(new TimeoutException($"A statement on the session holding this node's tables did not return within its owner deadline ({_cluster.Options.OwnerDeadline.TotalMilliseconds:0} ms)."));
                }

                if (_connection is null)
                {
                    _connection = await OpenAsync(stopping).ConfigureAwait(false);
                    failedOpens = 0;
                }

                Volatile.Write(ref _wakeQueued, 0);
                var token = _session.Token;
                await RunUnlocksAsync(_connection, token).ConfigureAwait(false);
                var renew = Now() >= nextRenewal;
                var check = Now() >= nextCheck;
                var look = !check && Now() >= nextLook && Volatile.Read(ref _pollNow) == 0;
                if (renew)
                {
                    nextRenewal = Now() + ToTicks(_cluster.Options.CheckInterval);
                }

                if ((renew || look) && await RenewAndLookAsync(_connection, renew, look, token).ConfigureAwait(false))
                {
                    Volatile.Write(ref _pollNow, 1);
                }

                if (check)
                {
                    nextCheck = Now() + ToTicks(FullPollInterval);
                    Volatile.Write(ref _pollNow, 1);
                    await CheckEpochsAsync(_connection, token).ConfigureAwait(false);
                }

                if (Interlocked.Exchange(ref _pollNow, 0) == 1)
                {
                    await PollAsync(_connection, only: null, token).ConfigureAwait(false);
                }
                else if (TakeTryNow() is { Count: > 0 } released)
                {
                    await PollAsync(_connection, released, token).ConfigureAwait(false);
                }

                if (Now() >= nextLook)
                {
                    nextLook = Now() + ToTicks(_cluster.Options.TakeoverPollInterval);
                }

                var next = Math.Min(nextRenewal, Math.Min(nextCheck, nextLook));
                var delay = _cluster.Time.GetElapsedTime(Now(), next);
                await WaitForWakeAsync((delay > TimeSpan.Zero ? delay : TimeSpan.Zero) + TimeSpan.FromMilliseconds(1), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException or OperationCanceledException)
            {
                // The session broke (or could not be opened): every lock it held is gone, so every table taken on it is
                // lost. The waits go on, on the next session.
                if (_connection is not null)
                {
                    Drop(_session.IsCancellationRequested
                        ? new TimeoutException($"A statement on the session holding this node's tables did not return within its owner deadline ({_cluster.Options.OwnerDeadline.TotalMilliseconds:0} ms).", e)
                        : e);
                    failedOpens = 0;
                }
                else if (failedOpens++ == 0)
                {
                    // Logged once per outage, not at every attempt.
                    ClusterLog.LockSessionFailed(_cluster.Logger, _cluster.NodeId, e);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _cluster.Time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken stopping)
    {
        var connection = await _cluster.DedicatedSource.OpenConnectionAsync(stopping).ConfigureAwait(false);
        try
        {
            // The node counts as live for balancing while this backend exists: a killed node's session ends at once,
            // well before its heartbeat grows old. The leases of sessions that ended go (a reused backend id must not
            // find an old lease), and this connection's lease starts before it takes any table.
            await using var record = new NpgsqlBatch(connection);
            var backend = new NpgsqlBatchCommand($"UPDATE {_cluster.Schema.Nodes} SET lock_backend = pg_backend_pid() WHERE node_id = $1");
            backend.Parameters.Add(new() { Value = _cluster.NodeId });
            record.BatchCommands.Add(backend);
            record.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {_cluster.Schema.Leases} WHERE backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)"));
            var lease = new NpgsqlBatchCommand(RenewalStatement);
            lease.Parameters.Add(new() { Value = _cluster.NodeId });
            record.BatchCommands.Add(lease);
            await record.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
        }
        catch
        {
            await CloseAsync(connection).ConfigureAwait(false);
            throw;
        }

        _session.Dispose();
        _session = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        Volatile.Write(ref _lastSuccess, Now());
        Wake(poll: true);
        return connection;
    }

    /// <summary>Ends the session: every table taken on it is lost, and its queued unlocks are dropped (the locks went
    /// with it).</summary>
    private void Drop(Exception reason)
    {
        var connection = _connection!;
        _connection = null;
        ClusterLog.LockSessionFailed(_cluster.Logger, _cluster.NodeId, reason);
        lock (_lock)
        {
            foreach (var owned in _held.Values)
            {
                owned.Lose($"This node lost its PostgreSQL session holding clustered table '{owned.Table}' (epoch {owned.Epoch}), and the table's lock with it: {reason.Message}", reason);
            }

            _held.Clear();
            foreach (var unlock in _unlocks.Values)
            {
                unlock.TrySetResult();
            }

            _unlocks.Clear();
            _handOffs.Clear();
        }

        // A silent connection may take seconds to close; nothing waits on it.
        _ = CloseAsync(connection);
    }

    private static async Task CloseAsync(NpgsqlConnection connection)
    {
        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            // Closing a broken session: the server ends it on its side.
        }
    }

    private async Task RunUnlocksAsync(NpgsqlConnection connection, CancellationToken cancellation)
    {
        List<string> tables;
        List<(string Table, string Successor, long Epoch)> handOffs;
        lock (_lock)
        {
            if (_unlocks.Count == 0)
            {
                return;
            }

            tables = [.. _unlocks.Keys];
            handOffs = [.. _handOffs.Where(h => _unlocks.ContainsKey(h.Key)).Select(h => (h.Key, h.Value.Successor, h.Value.Epoch))];
        }

        await using (var batch = new NpgsqlBatch(connection))
        {
            if (handOffs.Count > 0)
            {
                // Reserved while this node still holds the locks (at its epoch), committed before they are released.
                var reserve = new NpgsqlBatchCommand(
                    $"UPDATE {_cluster.Schema.Tables} t SET handoff_to = u.successor, handoff_until = now() + $4 " +
                    "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(name, successor, epoch) WHERE t.name = u.name AND t.epoch = u.epoch");
                reserve.Parameters.Add(new() { Value = handOffs.Select(h => h.Table).ToArray() });
                reserve.Parameters.Add(new() { Value = handOffs.Select(h => h.Successor).ToArray() });
                reserve.Parameters.Add(new() { Value = handOffs.Select(h => h.Epoch).ToArray() });
                reserve.Parameters.Add(new() { Value = _cluster.Options.HandOffTimeout });
                batch.BatchCommands.Add(reserve);
            }

            // A released row no longer names this connection's backend as its owner: a standby that finds its lease old
            // must not end this connection, which holds other tables' locks, for a table it let go.
            var disown = new NpgsqlBatchCommand(
                $"UPDATE {_cluster.Schema.Tables} SET owner_backend = NULL WHERE name = ANY($1) AND owner_backend = pg_backend_pid()");
            disown.Parameters.Add(new() { Value = tables.ToArray() });
            batch.BatchCommands.Add(disown);
            var unlock = new NpgsqlBatchCommand(
                $"SELECT pg_advisory_unlock(hashtextextended($2 || t, 0)), pg_notify('{_cluster.Schema.ReleasedChannel}', t) FROM unnest($1::text[]) AS t");
            unlock.Parameters.Add(new() { Value = tables.ToArray() });
            unlock.Parameters.Add(new() { Value = _lockPrefix });
            batch.BatchCommands.Add(unlock);
            await ExecuteAsync(batch.ExecuteNonQueryAsync(cancellation)).ConfigureAwait(false);
        }

        lock (_lock)
        {
            foreach (var table in tables)
            {
                _handOffs.Remove(table);
                if (_unlocks.Remove(table, out var done))
                {
                    done.TrySetResult();
                }
            }
        }
    }

    private async Task UnlockAllAsync(NpgsqlConnection connection, CancellationToken cancellation)
    {
        string[] tables;
        lock (_lock)
        {
            tables = [.. _held.Keys, .. _unlocks.Keys];
        }

        if (tables.Length == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand(
            $"SELECT pg_advisory_unlock_all(); SELECT pg_notify('{_cluster.Schema.ReleasedChannel}', t) FROM unnest($1::text[]) AS t", connection);
        command.Parameters.Add(new() { Value = tables });
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>
    /// In one round trip: with <paramref name="renew"/>, renews this connection's lease, which stands for every table it
    /// holds (one row, whatever their number), after giving up the ownerships whose process is gone; with
    /// <paramref name="look"/>, while tables are waited for, reads the server's list of backends (no table, no lock) and
    /// returns whether a backend alive at the last look (or the last poll) has ended since. A backend's session locks are
    /// released before it leaves that list, so the locks of a killed owner are free once this says so.
    /// </summary>
    private async Task<bool> RenewAndLookAsync(NpgsqlConnection connection, bool renew, bool look, CancellationToken cancellation)
    {
        lock (_lock)
        {
            foreach (var gone in _held.Values.Where(o => !o.Holder.IsAlive).ToList())
            {
                LoseLocked(gone, $"The process serving clustered table '{gone.Table}' on this node exited.", null);
            }

            look &= _waiting.Keys.Any(t => !_held.ContainsKey(t) && !_unlocks.ContainsKey(t));
        }

        // The look first: its rows are the batch's first result.
        await using var batch = new NpgsqlBatch(connection);
        if (look)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(BackendsStatement));
        }

        if (renew)
        {
            var lease = new NpgsqlBatchCommand(RenewalStatement);
            lease.Parameters.Add(new() { Value = _cluster.NodeId });
            batch.BatchCommands.Add(lease);
        }

        if (batch.BatchCommands.Count == 0)
        {
            return false;
        }

        await using var reader = await ExecuteAsync(batch.ExecuteReaderAsync(cancellation)).ConfigureAwait(false);
        if (!look)
        {
            return false;
        }

        await reader.ReadAsync(cancellation).ConfigureAwait(false);
        var previous = _backends;
        _backends = [.. reader.GetFieldValue<int[]>(0)];
        return !previous.IsSubsetOf(_backends);
    }

    /// <summary>The lease of the session running it, by its backend; <c>$1</c> is the node's id. Its commit does not
    /// wait for the disk: a lease matters only while the server runs (a restart ends every session, and its locks), so
    /// one lost with a crash is never missed.</summary>
    private string RenewalStatement =>
        $"INSERT INTO {_cluster.Schema.Leases} (backend, node_id, renewed_at) " +
        "SELECT pg_backend_pid(), $1, now() FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c " +
        "ON CONFLICT (backend) DO UPDATE SET node_id = excluded.node_id, renewed_at = excluded.renewed_at";

    /// <summary>One statement reads the epoch of every table this node owns; a table whose epoch is no longer its own
    /// was taken over, and is lost.</summary>
    private async Task CheckEpochsAsync(NpgsqlConnection connection, CancellationToken cancellation)
    {
        List<TableOwnership> owned;
        lock (_lock)
        {
            owned = [.. _held.Values];
        }

        if (owned.Count == 0)
        {
            return;
        }

        var current = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            $"SELECT t.name FROM {_cluster.Schema.Tables} t JOIN unnest($1::text[], $2::bigint[]) AS u(name, epoch) ON t.name = u.name AND t.epoch = u.epoch", connection))
        {
            command.Parameters.Add(new() { Value = owned.Select(o => o.Table).ToArray() });
            command.Parameters.Add(new() { Value = owned.Select(o => o.Epoch).ToArray() });
            await using var reader = await ExecuteAsync(command.ExecuteReaderAsync(cancellation)).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                current.Add(reader.GetString(0));
            }
        }

        lock (_lock)
        {
            foreach (var ownership in owned.Where(o => !current.Contains(o.Table)))
            {
                if (_held.TryGetValue(ownership.Table, out var held) && held == ownership)
                {
                    LoseLocked(ownership, $"Clustered table '{ownership.Table}' was taken over by another node (this node held epoch {ownership.Epoch}).", null);
                }
            }
        }
    }

    /// <summary>The ids of the server's backends now, as one array.</summary>
    private const string BackendsStatement =
        "SELECT coalesce(array_agg(pg_stat_get_backend_pid(b)), ARRAY[]::integer[]) FROM pg_stat_get_backend_idset() AS b";

    /// <summary>The tables to try at this turn (see <see cref="Released"/>), taken.</summary>
    private HashSet<string> TakeTryNow()
    {
        lock (_lock)
        {
            var tables = new HashSet<string>(_tryNow, StringComparer.Ordinal);
            _tryNow.Clear();
            return tables;
        }
    }

    /// <summary>
    /// For every table waited for (or those of <paramref name="only"/> that are): ends the session of an owner whose
    /// lease expired while it still holds advisory locks (it is frozen, or its machine went silent and the server has
    /// not noticed; its tables are released with it, which is right, since that node is not serving them), then tries
    /// those tables' locks, and takes those it got. Reservations made for this node of tables it does not wait for are
    /// given back either way.
    /// </summary>
    private async Task PollAsync(NpgsqlConnection connection, HashSet<string>? only, CancellationToken cancellation)
    {
        string[] waited;
        string[] candidates;
        lock (_lock)
        {
            foreach (var (table, waiter) in _waiting.Where(w => !w.Value.Holder.IsAlive).ToList())
            {
                _waiting.Remove(table);
                waiter.Done.TrySetCanceled();
            }

            if (only is null)
            {
                _tryNow.Clear();
            }

            waited = [.. _waiting.Keys.Where(t => !_held.ContainsKey(t) && !_unlocks.ContainsKey(t))];
            candidates = only is null ? waited : [.. waited.Where(only.Contains)];
        }

        if (candidates.Length == 0)
        {
            await using var declineAlone = new NpgsqlBatch(connection) { BatchCommands = { Decline(waited) } };
            await ExecuteAsync(declineAlone.ExecuteNonQueryAsync(cancellation)).ConfigureAwait(false);
            return;
        }

        var locked = new List<string>();
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(Decline(waited));
            // An owner's lease is its lock session's: the few sessions' leases are read, not the tables, and only an
            // expired one's tables are looked at.
            var expired = new NpgsqlBatchCommand(
                $"SELECT pg_terminate_backend(e.backend) FROM {_cluster.Schema.Leases} e WHERE e.renewed_at < now() - $2 AND e.backend <> pg_backend_pid() " +
                $"AND EXISTS (SELECT 1 FROM {_cluster.Schema.Tables} t WHERE t.owner_backend = e.backend AND t.name = ANY($1)) " +
                "AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = e.backend AND l.locktype = 'advisory' AND l.granted)");
            expired.Parameters.Add(new() { Value = candidates });
            expired.Parameters.Add(new() { Value = _cluster.Options.LeaseTimeout });
            // A table a planned hand-off reserved for another node is left to it until the reservation ends. The lock
            // is tried only for the rows the filter keeps (the select list is evaluated after WHERE).
            var tryLock = new NpgsqlBatchCommand(
                $"SELECT u.t, pg_try_advisory_lock(hashtextextended($2 || u.t, 0)) FROM unnest($1::text[]) AS u(t) LEFT JOIN {_cluster.Schema.Tables} x ON x.name = u.t " +
                "WHERE x.handoff_to IS NULL OR x.handoff_to = $3 OR x.handoff_until < now()");
            tryLock.Parameters.Add(new() { Value = candidates });
            tryLock.Parameters.Add(new() { Value = _lockPrefix });
            tryLock.Parameters.Add(new() { Value = _cluster.NodeId });
            batch.BatchCommands.Add(expired);
            batch.BatchCommands.Add(tryLock);

            // Read after the locks were tried: the holder of any table not got is among these backends, unless it
            // ended in between (then the next full poll finds the table free).
            batch.BatchCommands.Add(new NpgsqlBatchCommand(BackendsStatement));
            await using var reader = await ExecuteAsync(batch.ExecuteReaderAsync(cancellation)).ConfigureAwait(false);
            await reader.NextResultAsync(cancellation).ConfigureAwait(false);   // past the declines' notifications
            await reader.NextResultAsync(cancellation).ConfigureAwait(false);   // past the expired owners
            while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                if (reader.GetBoolean(1))
                {
                    locked.Add(reader.GetString(0));
                }
            }

            await reader.NextResultAsync(cancellation).ConfigureAwait(false);
            await reader.ReadAsync(cancellation).ConfigureAwait(false);
            _backends = [.. reader.GetFieldValue<int[]>(0)];
        }

        if (locked.Count > 0)
        {
            await TakeAsync(connection, locked, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives back the reservations other nodes made for this one of tables it does not wait for (its server for the
    /// table stopped, or was never started, after the giver read this node's heartbeat), and notifies their release, so
    /// that any node takes them now instead of when the reservation ends.
    /// </summary>
    /// <remarks>Sent in the same batch as the poll's locks (one round trip), or alone when nothing is waited for.</remarks>
    private NpgsqlBatchCommand Decline(string[] waited)
    {
        var decline = new NpgsqlBatchCommand(
            $"WITH d AS (UPDATE {_cluster.Schema.Tables} SET handoff_to = NULL, handoff_until = NULL " +
            "WHERE handoff_to = $1 AND handoff_until > now() AND NOT (name = ANY($2)) RETURNING name) " +
            $"SELECT pg_notify('{_cluster.Schema.ReleasedChannel}', name) FROM d");
        decline.Parameters.Add(new() { Value = _cluster.NodeId });
        decline.Parameters.Add(new() { Value = waited });
        return decline;
    }

    /// <summary>The locks of <paramref name="tables"/> are held: refuses those whose rows this node cannot read (their
    /// locks go again), then bumps the epoch of the others in one statement and hands each its ownership.</summary>
    private async Task TakeAsync(NpgsqlConnection connection, List<string> tables, CancellationToken cancellation)
    {
        // Until handed on or unlocked, a locked table is queued for unlocking: if the session breaks meanwhile, that
        // entry is dropped with it, and if the waiter went away, the lock is released.
        var refusals = new Dictionary<string, Exception>(StringComparer.Ordinal);
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        Dictionary<string, Waiter> waiters;
        lock (_lock)
        {
            foreach (var table in tables)
            {
                Unlock(table);
            }

            waiters = tables.Where(_waiting.ContainsKey).ToDictionary(t => t, t => _waiting[t], StringComparer.Ordinal);
        }

        // Holding the lock, nobody else changes the table's codecs: an owner upgrading it holds the lock too.
        await using (var codecs = new NpgsqlCommand($"SELECT name, key_codec, value_codec FROM {_cluster.Schema.Tables} WHERE name = ANY($1)", connection))
        {
            codecs.Parameters.Add(new() { Value = tables.ToArray() });
            await using var reader = await ExecuteAsync(codecs.ExecuteReaderAsync(cancellation)).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                var table = reader.GetString(0);
                recorded[table] = reader.GetString(2);
                if (waiters.TryGetValue(table, out var waiter) && waiter.Refuse(reader.GetString(1), reader.GetString(2)) is { } refusal)
                {
                    refusals[table] = refusal;
                }
            }
        }

        foreach (var table in tables.Where(t => !recorded.ContainsKey(t)))
        {
            refusals[table] = new InvalidOperationException($"Clustered table '{table}' is not in {_cluster.Schema.Tables}; it was removed while this node waited for it.");
        }

        var taking = tables.Where(t => waiters.ContainsKey(t) && !refusals.ContainsKey(t)).ToArray();
        var taken = new List<(string Table, long Epoch, long LastSequence)>();
        if (taking.Length > 0)
        {
            await using var take = new NpgsqlCommand(
                $"UPDATE {_cluster.Schema.Tables} SET epoch = epoch + 1, owner_node = $2, owned_since = now(), owner_backend = pg_backend_pid(), renewed_at = now(), handoff_to = NULL, handoff_until = NULL " +
                "WHERE name = ANY($1) RETURNING name, epoch, last_sequence",
                connection);
            take.Parameters.Add(new() { Value = taking });
            take.Parameters.Add(new() { Value = _cluster.NodeId });
            await using var reader = await ExecuteAsync(take.ExecuteReaderAsync(cancellation)).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                taken.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var handed = new List<(Waiter Waiter, TableOwnership Ownership)>();
        var refused = new List<(Waiter Waiter, Exception Refusal)>();
        lock (_lock)
        {
            foreach (var (table, epoch, lastSequence) in taken)
            {
                var waiter = waiters[table];
                if (!_unlocks.ContainsKey(table) || !_waiting.TryGetValue(table, out var current) || current != waiter || !waiter.Holder.IsAlive)
                {
                    continue;   // the waiter went away meanwhile (or the session broke): the queued unlock stays, or went with it
                }

                _unlocks.Remove(table, out var unlock);
                unlock!.TrySetResult();
                _waiting.Remove(table);
                var ownership = new TableOwnership(this, table, waiter.Holder, epoch, lastSequence, recorded[table]);
                _held[table] = ownership;
                handed.Add((waiter, ownership));
            }

            foreach (var (table, refusal) in refusals)
            {
                if (waiters.TryGetValue(table, out var waiter) && _waiting.TryGetValue(table, out var current) && current == waiter)
                {
                    _waiting.Remove(table);
                    refused.Add((waiter, refusal));
                }
            }
        }

        foreach (var (waiter, ownership) in handed)
        {
            if (!waiter.Done.TrySetResult(ownership))
            {
                // Its wait was cancelled meanwhile: the unlock is queued for this loop's next turn (never awaited here,
                // since only this loop completes it).
                _ = ReleaseAsync(ownership);
            }
        }

        foreach (var (waiter, refusal) in refused)
        {
            waiter.Done.TrySetException(refusal);
        }
    }

    /// <summary>Runs a statement on the session, recording when it started (for the watchdog) and that it returned.</summary>
    private async Task<T> ExecuteAsync<T>(Task<T> statement)
    {
        Volatile.Write(ref _inFlightSince, Now());
        try
        {
            var result = await statement.ConfigureAwait(false);
            Volatile.Write(ref _lastSuccess, Now());
            return result;
        }
        finally
        {
            Volatile.Write(ref _inFlightSince, 0);
        }
    }

    /// <summary>
    /// An owner that cannot reach PostgreSQL stops serving on its own deadline, which is shorter than the server's
    /// detection of its silence: so it has stopped before another node can take over. A statement on the session that
    /// has not returned within the deadline, or no statement succeeding for that long while tables are owned, loses
    /// every table and replaces the session.
    /// </summary>
    private async Task WatchDeadlineAsync()
    {
        var deadline = _cluster.Options.OwnerDeadline;
        using var timer = new PeriodicTimer(_cluster.Options.CheckInterval / 2, _cluster.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                var inFlight = Volatile.Read(ref _inFlightSince);
                var stuck = inFlight != 0 && _cluster.Time.GetElapsedTime(inFlight) > deadline;
                lock (_lock)
                {
                    stuck |= _held.Count > 0 && _cluster.Time.GetElapsedTime(Volatile.Read(ref _lastSuccess)) > deadline;
                    if (!stuck)
                    {
                        continue;
                    }

                    foreach (var owned in _held.Values)
                    {
                        owned.Lose($"This node could not reach PostgreSQL for {deadline.TotalMilliseconds:0} ms (its owner deadline), so it stopped serving clustered table '{owned.Table}' (epoch {owned.Epoch}) before another node could take it over.", null);
                    }

                    _held.Clear();
                }

                // The loop, on its stuck statement or at its next turn, drops the session and its locks. It may have
                // replaced the session meanwhile, disposing this one's token source: then there is nothing to stop.
                try
                {
                    await _session.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                }

                Wake(poll: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Loses an owned table and queues its unlock; called holding <c>_lock</c>.</summary>
    private void LoseLocked(TableOwnership ownership, string message, Exception? cause)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        _held.Remove(ownership.Table);
        Unlock(ownership.Table);
        ownership.Lose(message, cause);
        Wake(poll: false);
    }

    private TaskCompletionSource Unlock(string table)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!_unlocks.TryGetValue(table, out var done))
        {
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _unlocks[table] = done;
        }

        return done;
    }

    /// <summary>How often the waited tables' locks are tried, and the held tables' epochs read, when nothing announced
    /// a change: a third of the lease (but never more often than <see cref="PostgresClusterOptions.TakeoverPollInterval"/>),
    /// so a frozen owner's tables are taken within about a third of the lease after it expired.</summary>
    private TimeSpan FullPollInterval => TimeSpan.FromTicks(Math.Max(_cluster.Options.TakeoverPollInterval.Ticks, (_cluster.Options.LeaseTimeout / 3).Ticks));

    private long ToTicks(TimeSpan interval) => (long)(interval.TotalSeconds * _cluster.Time.TimestampFrequency);

    // A timestamp of the node's clock, never 0: 0 stands for "no statement in flight".
    private long Now() => Math.Max(1, _cluster.Time.GetTimestamp());

    /// <summary>Waits for a wake-up or <paramref name="limit"/> on the node's clock, whichever comes first; a wait that
    /// ends by the limit takes no wake-up (a cancelled semaphore wait consumes no count). Throws only when
    /// <paramref name="stopping"/> is cancelled.</summary>
    private async Task WaitForWakeAsync(TimeSpan limit, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(limit, _cluster.Time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        await _wake.WaitAsync(either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stopping.ThrowIfCancellationRequested();
    }

    private sealed class Waiter(Pid holder, Func<string, string, Exception?> refuse)
    {
        public Pid Holder { get; } = holder;

        public Func<string, string, Exception?> Refuse { get; } = refuse;

        public TaskCompletionSource<TableOwnership> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
