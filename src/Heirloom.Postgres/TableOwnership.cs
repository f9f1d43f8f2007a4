using System.Diagnostics;
using Heirloom.Processes;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// A node's ownership of one clustered table: a session advisory lock held on a connection of its own, and the epoch
/// this node set when it took the lock (one more than the last owner's). While held, the owner checks every
/// <see cref="PostgresClusterOptions.CheckInterval"/> that its session is alive and the epoch is still its own; the
/// ownership is lost (<see cref="Lost"/> completes) when the session breaks, the epoch moved, or no check succeeded for
/// <see cref="PostgresClusterOptions.OwnerDeadline"/>.
/// </summary>
internal sealed class TableOwnership : IAsyncDisposable
{
    private readonly PostgresCluster _cluster;
    private readonly NpgsqlConnection _connection;

    // The process the ownership is for: if it is gone without giving the ownership up (killed), the lock goes too.
    private readonly Pid _holder;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<FencedException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastCheck = Stopwatch.GetTimestamp();
    private Task _watch = Task.CompletedTask;

    private TableOwnership(PostgresCluster cluster, NpgsqlConnection connection, Pid holder, string table, long epoch, long lastSequence)
    {
        _cluster = cluster;
        _holder = holder;
        _connection = connection;
        Table = table;
        Epoch = epoch;
        LastSequence = lastSequence;
    }

    public string Table { get; }

    /// <summary>The fencing token this node writes with.</summary>
    public long Epoch { get; }

    /// <summary>The sequence of the last write committed before this node took the table.</summary>
    public long LastSequence { get; }

    /// <summary>Completes, with why, once this node no longer owns the table.</summary>
    public Task<FencedException> Lost => _lost.Task;

    /// <summary>Waits (as long as it takes) for the table's lock, then takes the table by bumping its epoch. While it
    /// waits, it ends the session of an owner whose lease expired (frozen, or silent), which releases the lock.</summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="table">The table.</param>
    /// <param name="holder">The process that holds the ownership.</param>
    /// <param name="refuse">Given the table's recorded key and value codecs once the lock is held, and before the
    /// epoch is bumped: why this node must not take the table (it cannot read its rows), or null. A refusal gives the
    /// lock up and is thrown.</param>
    /// <param name="cancellation">Stops waiting.</param>
    public static async Task<TableOwnership> AcquireAsync(PostgresCluster cluster, string table, Pid holder, Func<string, string, Exception?> refuse, CancellationToken cancellation)
    {
        var connection = await cluster.DedicatedSource.OpenConnectionAsync(cancellation).ConfigureAwait(false);
        try
        {
            await using (var wait = new NpgsqlCommand($"SET lock_timeout = {(int)LockWait.TotalMilliseconds}", connection))
            {
                await wait.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            }

            while (!await TryLockAsync(cluster, connection, table, cancellation).ConfigureAwait(false))
            {
                await EndExpiredOwnerAsync(cluster, connection, table, cancellation).ConfigureAwait(false);
            }

            // Holding the lock, nobody else changes the table's codecs: an owner upgrading it holds the lock too.
            await using (var codecs = new NpgsqlCommand($"SELECT key_codec, value_codec FROM {cluster.Schema.Tables} WHERE name = $1", connection))
            {
                codecs.Parameters.Add(new() { Value = table });
                await using var recorded = await codecs.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
                if (await recorded.ReadAsync(cancellation).ConfigureAwait(false) && refuse(recorded.GetString(0), recorded.GetString(1)) is { } refusal)
                {
                    throw refusal;
                }
            }

            await using var take = new NpgsqlCommand(
                $"UPDATE {cluster.Schema.Tables} SET epoch = epoch + 1, owner_node = $2, owned_since = now(), owner_backend = pg_backend_pid(), renewed_at = now() " +
                "WHERE name = $1 RETURNING epoch, last_sequence",
                connection);
            take.Parameters.Add(new() { Value = table });
            take.Parameters.Add(new() { Value = cluster.NodeId });
            await using var reader = await take.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"Clustered table '{table}' is not in {cluster.Schema.Tables}; it was removed while this node waited for it.");
            }

            var ownership = new TableOwnership(cluster, connection, holder, table, reader.GetInt64(0), reader.GetInt64(1));
            await reader.DisposeAsync().ConfigureAwait(false);
            ownership._watch = Task.WhenAll(ownership.CheckAsync(), ownership.WatchDeadlineAsync());
            return ownership;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Gives the ownership up: the lock goes with the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _lost.TrySetResult(new FencedException(Table, Epoch, $"This node gave up clustered table '{Table}'."));
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    // How long one wait for the lock lasts before the waiter looks at the owner's lease. A released lock (the owner's
    // process died, so its connection closed) wakes the waiter at once, whatever this is.
    private static readonly TimeSpan LockWait = TimeSpan.FromMilliseconds(250);

    private static string LockName(PostgresCluster cluster, string table) => $"heirloom.table:{cluster.Schema.Name}.{table}";

    private static async Task<bool> TryLockAsync(PostgresCluster cluster, NpgsqlConnection connection, string table, CancellationToken cancellation)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", connection);
        command.CommandTimeout = 0;
        command.Parameters.Add(new() { Value = LockName(cluster, table) });
        try
        {
            await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            return false;
        }
    }

    /// <summary>Ends the owner's session when its lease expired: its lock goes with it, and the owner, if it ever runs
    /// again, finds its session gone and its epoch old. Only a backend that holds an advisory lock is ended, so a
    /// recorded backend id that was reused by another session is left alone.</summary>
    private static async Task EndExpiredOwnerAsync(PostgresCluster cluster, NpgsqlConnection connection, string table, CancellationToken cancellation)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT pg_terminate_backend(owner_backend) FROM {cluster.Schema.Tables} " +
            "WHERE name = $1 AND owner_backend IS NOT NULL AND renewed_at < now() - $2 AND owner_backend <> pg_backend_pid() " +
            "AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = owner_backend AND l.locktype = 'advisory' AND l.granted)",
            connection);
        command.Parameters.Add(new() { Value = table });
        command.Parameters.Add(new() { Value = cluster.Options.LeaseTimeout });
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    private void Lose(string message, Exception? cause = null) =>
        _lost.TrySetResult(new FencedException(Table, Epoch, message, cause));

    /// <summary>Renews the lease while the epoch is ours; a broken session has released the lock, so it ends the
    /// ownership at once.</summary>
    private async Task CheckAsync()
    {
        using var timer = new PeriodicTimer(_cluster.Options.CheckInterval);
        try
        {
            await using var check = new NpgsqlCommand($"UPDATE {_cluster.Schema.Tables} SET renewed_at = now() WHERE name = $1 AND epoch = $2 RETURNING epoch", _connection);
            check.Parameters.Add(new() { Value = Table });
            check.Parameters.Add(new() { Value = Epoch });
            while (!_lost.Task.IsCompleted && await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (!_holder.IsAlive)
                {
                    Lose($"The process serving clustered table '{Table}' on this node exited.");
                    await _connection.CloseAsync().ConfigureAwait(false);
                    return;
                }

                var epoch = await check.ExecuteScalarAsync(_stop.Token).ConfigureAwait(false);
                if (epoch is null)
                {
                    Lose($"Clustered table '{Table}' was taken over by another node (this node held epoch {Epoch}).");
                    return;
                }

                Volatile.Write(ref _lastCheck, Stopwatch.GetTimestamp());
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
        {
            Lose($"This node lost its PostgreSQL session holding clustered table '{Table}' (epoch {Epoch}), and the table's lock with it: {e.Message}", e);
        }
    }

    /// <summary>An owner that cannot reach PostgreSQL stops serving on its own deadline, which is shorter than the
    /// server's detection of its silence: so it has stopped before another node can take over.</summary>
    private async Task WatchDeadlineAsync()
    {
        var deadline = _cluster.Options.OwnerDeadline;
        using var timer = new PeriodicTimer(_cluster.Options.CheckInterval / 2);
        try
        {
            while (!_lost.Task.IsCompleted && await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastCheck)) > deadline)
                {
                    Lose($"This node could not reach PostgreSQL for {deadline.TotalMilliseconds:0} ms (its owner deadline), so it stopped serving clustered table '{Table}' (epoch {Epoch}) before another node could take it over.");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
