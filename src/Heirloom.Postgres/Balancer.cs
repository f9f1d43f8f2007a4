using System.Collections.Concurrent;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// Keeps this node at its fair share of the tables it runs. Every <see cref="PostgresClusterOptions.BalanceInterval"/>
/// (less and less often while nothing changes, down to every 8 intervals), one statement reads the live members (a fresh heartbeat and a lock session that still exists, so a killed node drops
/// out at once) with their weights and how many of the tables each owns; <see cref="FairShare.Plan"/> then says which
/// tables, if any, this node hands to which node, and each table's server is asked to hand its table off (a planned
/// move). Takeovers after a failure are not planned: any node takes a table that is free and not reserved, and
/// balancing evens things out afterwards.
/// </summary>
/// <remarks>Every node runs the same arithmetic on the same rows, so they agree on the shares without coordinating. A
/// move is reserved for its successor before it starts, so it counts for the successor at once and other nodes do not
/// send it more than it lacks; the giver does not count a table it is moving as its own either.</remarks>
internal sealed class Balancer : IAsyncDisposable
{
    private readonly PostgresCluster _cluster;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();

    // Moves under way, by table: completed when the successor says it took the table (see Taken).
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _untaken = new(StringComparer.Ordinal);

    // Tables asked to move and not released yet, with when: not counted as owned (nor asked again) meanwhile.
    private readonly Dictionary<string, long> _moving = new(StringComparer.Ordinal);
    private List<FairShare.Member> _members = [];
    private Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private Dictionary<string, HashSet<string>> _waiting = new(StringComparer.Ordinal);
    private int _tables;
    private Task _loop = Task.CompletedTask;

    // What the last round read (members, weights, counts), to tell a steady cluster; only the loop uses it.
    private string _lastFingerprint = "";

    // Cancelled to end the loop's wait early; replaced (under _lock) by the loop once cancelled.
    private CancellationTokenSource _nap = new();

    // 1 while this node is stopping its tables' servers (one stopped for shutdown, none started since): it takes no
    // share, so the others do not send tables back to a node handing its own off.
    private int _leaving;

    /// <summary>A steady cluster is looked at every <see cref="PostgresClusterOptions.BalanceInterval"/> times this at
    /// the least (4 s by default).</summary>
    private const int MaxSteadyRounds = 8;

    public Balancer(PostgresCluster cluster) => _cluster = cluster;

    /// <summary>A node took <paramref name="table"/> over (notified by that node): a move of it from this node is done.</summary>
    public void Taken(string table)
    {
        if (_untaken.TryRemove(table, out var taken))
        {
            taken.TrySetResult();
        }
    }

    /// <summary>A table's server is stopping for shutdown: until a server starts again, this node is leaving, and the
    /// others leave it out of the shares (recorded at once, not at the next heartbeat).</summary>
    public void Leaving() => Mark(leaving: true);

    /// <summary>A table's server started: this node takes its share again.</summary>
    public void Staying() => Mark(leaving: false);

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>The node a table owned here should go to when this node stops: among the other live members following
    /// the table, one that owns less than its share (the highest scoring for the table), else the highest scoring; null when this node is
    /// alone (then any node that comes may take it). Counts the choice, so that the tables of a stopping node spread over the others.</summary>
    public string? SuccessorFor(string table)
    {
        lock (_lock)
        {
            var others = _members.Where(m => m.Node != _cluster.NodeId && CanReceive(m.Node, table)).ToList();
            if (others.Count == 0)
            {
                return null;
            }

            var quotas = FairShare.Quotas(_tables, others);
            var under = others.Where(m => _held.GetValueOrDefault(m.Node) < quotas[m.Node]).ToList();
            var successor = (under.Count > 0 ? under : others).MaxBy(m => FairShare.Score(table, m.Node)).Node;
            _held[successor] = _held.GetValueOrDefault(successor) + 1;
            return successor;
        }
    }

    /// <summary>
    /// This node leaves: every table it owns is handed off (a planned move to the node balancing would choose, a few
    /// at a time), and this completes once none is owned or <paramref name="within"/> passed
    /// (what is still owned then goes with the lock session, released at once). Alone, there is nobody to hand to.
    /// </summary>
    public async Task HandOffAllAsync(TimeSpan within)
    {
        Leaving();
        var moves = _cluster.Locks.Owned
            .Select(ownership => (Ownership: ownership, Successor: SuccessorFor(ownership.Table)))
            .Where(move => move.Successor is not null)
            .Select(move => (move.Ownership, move.Successor!));
        using var deadline = new CancellationTokenSource(within, _cluster.Time);
        try
        {
            await MoveAsync(moves, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // What is still owned goes with the lock session.
        }
    }

    /// <summary>
    /// Asks each move's server to hand its table off, with at most <see cref="PostgresClusterOptions.MaxHandOffsInFlight"/>
    /// under way at once, a move being under way until its successor has taken the table; completes when every move
    /// ended or waited <see cref="PostgresClusterOptions.HandOffTimeout"/>.
    /// </summary>
    /// <remarks>A table takes writes until its own move starts, so its pause is its own hand-off, not its place in a
    /// queue: asked all at once, every moving table would stop taking writes together and wait while the commits, the
    /// releases and the successors' takeovers of all of them share a few connections.</remarks>
    private async Task MoveAsync(IEnumerable<(TableOwnership Ownership, string Successor)> moves, CancellationToken cancellation)
    {
        var inFlight = new List<Task>();
        foreach (var (ownership, successor) in moves)
        {
            if (inFlight.Count >= _cluster.Options.MaxHandOffsInFlight)
            {
                inFlight.Remove(await Task.WhenAny(inFlight).ConfigureAwait(false));
            }

            cancellation.ThrowIfCancellationRequested();

            // Listened for before the release, which the successor's notice cannot then overtake.
            var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _untaken[ownership.Table] = taken;
            var request = new HandOffRequest(ownership, successor, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
            ownership.Holder.Send(request);
            inFlight.Add(WaitForMoveAsync(ownership.Table, request.Done.Task, taken, cancellation));
        }

        await Task.WhenAll(inFlight).ConfigureAwait(false);
    }

    /// <summary>Waits for one move: its release here, then the successor's takeover, each for at most
    /// <see cref="PostgresClusterOptions.HandOffTimeout"/> (a server busy, or gone, is not waited for longer; its table
    /// may be asked again in a later round, and a table not taken in that time is anyone's).</summary>
    /// <remarks>Counting a move done only once its successor serves the table paces the moves at the successor's speed:
    /// counted done at the release, a node that has just started, still slow, is handed tables faster than it takes
    /// them over, and each waits behind the others for its turn.</remarks>
    private async Task WaitForMoveAsync(string table, Task<bool> done, TaskCompletionSource taken, CancellationToken cancellation)
    {
        try
        {
            if (await done.WaitAsync(_cluster.Options.HandOffTimeout, _cluster.Time, cancellation).ConfigureAwait(false))
            {
                await taken.Task.WaitAsync(_cluster.Options.HandOffTimeout, _cluster.Time, cancellation).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
        }
        finally
        {
            _untaken.TryRemove(new KeyValuePair<string, TaskCompletionSource>(table, taken));
        }
    }

    private void Mark(bool leaving)
    {
        if (Interlocked.Exchange(ref _leaving, leaving ? 1 : 0) == (leaving ? 1 : 0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await using var command = _cluster.Source.CreateCommand($"UPDATE {_cluster.Schema.Nodes} SET leaving = $2 WHERE node_id = $1");
                command.Parameters.Add(new() { Value = _cluster.NodeId });
                command.Parameters.Add(new() { Value = leaving });
                await command.ExecuteNonQueryAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // Balancing is a matter of efficiency: a node not marked is sent tables it hands off again.
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
        _nap.Dispose();
    }

    private async Task RunAsync()
    {
        var failing = false;
        var interval = _cluster.Options.BalanceInterval;
        try
        {
            while (true)
            {
                if (await NapAsync(interval).ConfigureAwait(false))
                {
                    interval = _cluster.Options.BalanceInterval;
                }

                try
                {
                    // A cluster that stays balanced is looked at less and less often, down to one round in
                    // MaxSteadyRounds intervals; any change of members or counts brings the pace back at once.
                    var steady = await BalanceAsync(_stopping.Token).ConfigureAwait(false);
                    interval = steady ? TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, _cluster.Options.BalanceInterval.Ticks * MaxSteadyRounds)) : _cluster.Options.BalanceInterval;
                    failing = false;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
                {
                    if (!failing)
                    {
                        ClusterLog.BalanceFailed(_cluster.Logger, _cluster.NodeId, e);   // once per outage
                    }

                    failing = true;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A member's tables changed (it joined, started serving more, or is leaving): the next round is now, and
    /// the pace is back to every <see cref="PostgresClusterOptions.BalanceInterval"/>.</summary>
    public void Wake()
    {
        CancellationTokenSource nap;
        lock (_lock)
        {
            nap = _nap;
        }

        nap.Cancel();
    }

    /// <summary>Waits for <paramref name="interval"/> or a wake-up; true when woken. Throws when the balancer stops.</summary>
    private async Task<bool> NapAsync(TimeSpan interval)
    {
        CancellationTokenSource nap;
        lock (_lock)
        {
            if (_nap.IsCancellationRequested)
            {
                _nap.Dispose();
                _nap = new CancellationTokenSource();
            }

            nap = _nap;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, nap.Token);

        // Forced to yield: a wake-up comes from the listener's notification, whose thread must not run the round.
        await Task.Delay(interval, _cluster.Time, either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        _stopping.Token.ThrowIfCancellationRequested();
        return nap.IsCancellationRequested;
    }

    /// <summary>One round; true when nothing moved and the members and their counts are as the last round found them.</summary>
    private async Task<bool> BalanceAsync(CancellationToken cancellation)
    {
        // The tables this node runs, a set that moves do not change (a table handed off is still run, as a standby).
        var known = _cluster.Running;
        var (members, held, waiting) = await ReadMembersAsync(known, cancellation).ConfigureAwait(false);
        var fingerprint = string.Join(';', members.Select(m => $"{m.Node}:{m.Weight}:{held[m.Node]}:{waiting[m.Node].Count}")) + $";{known.Length}";
        var unchanged = fingerprint == _lastFingerprint;
        _lastFingerprint = fingerprint;

        // How many tables are divided: the most any live node runs (waits for or owns), so that a node still starting
        // its tables' servers, which runs only some so far, does not take its share of those few for its share of all.
        var tables = Math.Max(known.Length, members.Count == 0 ? 0 : members.Max(m => waiting[m.Node].Count + held[m.Node]));
        var owned = _cluster.Locks.Owned.ToDictionary(o => o.Table, StringComparer.Ordinal);
        List<(string Table, string Successor)> plan;
        bool settled;
        lock (_lock)
        {
            _members = members;
            _held = held;
            _waiting = waiting;
            _tables = tables;
            foreach (var (table, since) in _moving.ToList())
            {
                // Released (or lost) since: done. Still held long after it was asked: the server was busy or refused;
                // it may be asked again.
                if (!owned.ContainsKey(table) || _cluster.Time.GetElapsedTime(since) > _cluster.Options.HandOffTimeout)
                {
                    _moving.Remove(table);
                }
            }

            settled = _moving.Count == 0;
            if (_cluster.Options.MaxMovesPerRound == 0 || Volatile.Read(ref _leaving) == 1)
            {
                return unchanged;
            }

            var movable = owned.Keys.Where(t => !_moving.ContainsKey(t)).ToList();
            plan = FairShare.Plan(_cluster.NodeId, movable, tables, members, held, _cluster.Options.MaxMovesPerRound, CanReceive);
            foreach (var (table, _) in plan)
            {
                _moving[table] = _cluster.Time.GetTimestamp();
            }
        }

        if (plan.Count == 0)
        {
            return unchanged && settled;
        }

        ClusterLog.Rebalancing(_cluster.Logger, _cluster.NodeId, owned.Count, tables, FairShare.Quotas(tables, members)[_cluster.NodeId], plan.Count);
        await ReserveAsync(plan, owned, cancellation).ConfigureAwait(false);
        await MoveAsync(plan.Select(move => (owned[move.Table], move.Successor)), cancellation).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Reserves each moving table for its successor before its server is asked, at this node's epoch: from now on every
    /// node counts the table as its successor's, so that other over-share nodes do not send the successor more than it
    /// lacks while this move is under way (its last commits may take a while). The release renews the reservation.
    /// </summary>
    private async Task ReserveAsync(List<(string Table, string Successor)> plan, Dictionary<string, TableOwnership> owned, CancellationToken cancellation)
    {
        await using var command = _cluster.Source.CreateCommand(
            $"UPDATE {_cluster.Schema.Tables} t SET handoff_to = u.successor, handoff_until = now() + $4 " +
            "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(name, successor, epoch) WHERE t.name = u.name AND t.epoch = u.epoch");
        command.Parameters.Add(new() { Value = plan.Select(p => p.Table).ToArray() });
        command.Parameters.Add(new() { Value = plan.Select(p => p.Successor).ToArray() });
        command.Parameters.Add(new() { Value = plan.Select(p => owned[p.Table].Epoch).ToArray() });
        command.Parameters.Add(new() { Value = _cluster.Options.HandOffTimeout });
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>Whether a node follows a table (as of its last heartbeat), so that it takes it at once when it is handed
    /// to it; called holding <c>_lock</c>.</summary>
    private bool CanReceive(string node, string table) => _waiting.TryGetValue(node, out var waited) && waited.Contains(table);

    /// <summary>The live members with their weights, how many of <paramref name="tables"/> each owns (a table being
    /// moved counts for the node it moves to), and which each waits for.</summary>
    private async Task<(List<FairShare.Member> Members, Dictionary<string, int> Held, Dictionary<string, HashSet<string>> Waiting)> ReadMembersAsync(string[] tables, CancellationToken cancellation)
    {
        await using var command = _cluster.Source.CreateCommand(
            $"WITH live AS (SELECT node_id, weight, waiting FROM {_cluster.Schema.Nodes} n WHERE last_seen > now() - $2 AND (NOT leaving OR node_id = $3) " +
            "AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = n.lock_backend)), " +
            // A table reserved by a move counts for the node it moves to, from the moment it is planned. The tables are
            // joined once (a hash join on the names), not matched against the array for every member.
            $"counts AS (SELECT CASE WHEN t.handoff_to IS NOT NULL AND t.handoff_until > now() THEN t.handoff_to ELSE t.owner_node END AS node_id, count(*) AS held " +
            $"FROM {_cluster.Schema.Tables} t JOIN unnest($1::text[]) AS u(name) ON t.name = u.name GROUP BY 1) " +
            "SELECT l.node_id, l.weight, coalesce(c.held, 0), l.waiting FROM live l LEFT JOIN counts c ON c.node_id = l.node_id");
        command.Parameters.Add(new() { Value = tables });
        command.Parameters.Add(new() { Value = _cluster.Options.LeaseTimeout });
        command.Parameters.Add(new() { Value = _cluster.NodeId });
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var members = new List<FairShare.Member>();
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        var waiting = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            members.Add(new FairShare.Member(reader.GetString(0), reader.GetDouble(1)));
            held[reader.GetString(0)] = (int)reader.GetInt64(2);
            waiting[reader.GetString(0)] = new HashSet<string>(reader.GetFieldValue<string[]>(3), StringComparer.Ordinal);
        }

        return (members, held, waiting);
    }
}
