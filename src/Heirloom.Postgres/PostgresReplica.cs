using Heirloom.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace Heirloom.Postgres;

/// <summary>
/// Where an owned clustered table's writes go: a commit loop takes every write waiting (up to
/// <see cref="PostgresClusterOptions.MaxWritesPerCommit"/>), keeps each key's last state, and commits them in one
/// call of the commit function, which checks the owner's epoch in the same transaction. So many concurrent writers
/// share one commit, and a write of a node that lost the table changes nothing. Up to
/// <see cref="PostgresClusterOptions.MaxCommitsInFlight"/> commits are in flight at once, each on its own pooled
/// connection; two in flight never share a key (a commit whose keys overlap one in flight waits for it), and the commit
/// function makes them visible in the order of their sequences, so a commit is acknowledged with every write before it.
/// A commit that fails for a lost connection is tried again (it is idempotent: whole key states under the same epoch,
/// each row written only over a lower sequence) until the owner deadline; a fenced commit, or the deadline, fails the
/// replica for good.
/// </summary>
internal sealed class PostgresReplica : ITableReplica, IAsyncDisposable
{
    private readonly PostgresCluster _cluster;
    private readonly string _table;
    private readonly long _epoch;
    private readonly Action<FencedException> _failed;
    private readonly Lock _lock = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _pending = new(0);
    private List<JournalRecord> _queue = [];
    private List<JournalRecord> _spare = [];
    private long _committed;

    // The commit loop's own: the last sequence handed to a commit, the commits in flight, and the last one started
    // (each commit waits for the one before it when the server says it came first).
    private long _handedOn;
    private readonly List<InFlight> _inFlight = [];
    private Task _previous = Task.CompletedTask;
    private FencedException? _failure;

    // Set by a planned hand-off: no write is taken after it, and the ones taken before are committed before the lock goes.
    private bool _sealed;
    private readonly Task _loop;

    // With a local journal: writes are acknowledged once in it (fsynced), and at most this many may wait to be shipped.
    private readonly ShippingSpool? _spool;
    private readonly int _maxUnshipped;
    private long _appended;

    public PostgresReplica(PostgresCluster cluster, string table, long epoch, long lastSequence, bool writesWaitForCommit, Action<FencedException> failed, ShippingSpool? spool = null, int maxUnshipped = 0)
    {
        _cluster = cluster;
        _spool = spool;
        _maxUnshipped = maxUnshipped;
        _appended = lastSequence;
        _table = table;
        _epoch = epoch;
        _committed = lastSequence;
        _handedOn = lastSequence;
        _failed = failed;
        WritesWaitForCommit = writesWaitForCommit;
        _loop = Task.Run(CommitLoopAsync);
    }

    public bool WritesWaitForCommit { get; }

    /// <summary>Commits so far, and the writes they carried (for the group-commit ratio).</summary>
    public long Commits => Volatile.Read(ref _commits);

    public long CommittedWrites => Volatile.Read(ref _committedWrites);

    private long _commits;
    private long _committedWrites;

    // The writes the last acknowledged commit carried: a new commit waits up to GatherLimit for as many to be queued,
    // since writers keeping one write in flight come back once their commit is acknowledged, and a commit started at
    // the first of them would carry one and leave the rest for the next (PostgreSQL's commit_delay, with the writers
    // counted).
    private int _lastCommitWrites;
    private int _gatherTarget;
    private TaskCompletionSource? _gathered;
    private static readonly TimeSpan GatherLimit = TimeSpan.FromMilliseconds(1);

    public void Append(JournalRecord record)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                throw _failure;
            }

            if (_sealed)
            {
                throw new FencedException(_table, _epoch, $"Clustered table '{_table}' is being handed to another node; this write was not taken. Send it to the table's new owner.");
            }

            _spool?.Add(record);
            _queue.Add(record);
            _appended = record.Sequence;
            if (_queue.Count == 1)
            {
                _pending.Release();
            }

            if (_gathered is not null && _queue.Count >= _gatherTarget)
            {
                _gathered.TrySetResult();
                _gathered = null;
            }
        }
    }

    public ValueTask WhenCommittedAsync(long sequence) =>
        _spool is null ? WhenShippedAsync(sequence) : WhenInLocalJournalAsync(sequence);

    /// <summary>Ships the writes a previous run of this node left in its local journal (acknowledged, not shipped),
    /// before the table takes new ones; returns the last sequence shipped.</summary>
    public async Task<long> ShipLeftoversAsync(List<JournalRecord> records)
    {
        // The table is not handed on before this returns, so nothing is appended yet and the loop is idle.
        var last = records[^1].Sequence;
        await CommitWithRetryAsync(KeyStates.Of(records, 0, records.Count), _handedOn + 1, last, Task.CompletedTask).ConfigureAwait(false);
        _handedOn = last;
        _spool!.Shipped(last);
        lock (_lock)
        {
            _committed = _appended = last;
        }

        return last;
    }

    /// <summary>Acknowledged once the local journal has it on disk, and once the writes waiting to be shipped are
    /// within the bound.</summary>
    private async ValueTask WhenInLocalJournalAsync(long sequence)
    {
        await _spool!.WhenDurableAsync().ConfigureAwait(false);
        if (sequence - _maxUnshipped > Volatile.Read(ref _committed))
        {
            await WhenShippedAsync(sequence - _maxUnshipped).ConfigureAwait(false);
        }
    }

    private ValueTask WhenShippedAsync(long sequence)
    {
        lock (_lock)
        {
            if (sequence <= _committed)
            {
                return ValueTask.CompletedTask;
            }

            if (_failure is not null)
            {
                return ValueTask.FromException(_failure);
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            return new ValueTask(done.Task);
        }
    }

    /// <summary>
    /// A planned hand-off's first step: takes no more writes (a write after this fails, unacknowledged) and completes
    /// once every write taken before is committed, with true; with false if the replica failed instead (then nothing
    /// more is committed, and the owner is fenced). Bounded: a commit that cannot be made fails the replica within the
    /// owner deadline.
    /// </summary>
    public async Task<bool> SealAsync()
    {
        long last;
        lock (_lock)
        {
            if (_failure is not null)
            {
                return false;
            }

            _sealed = true;
            last = _appended;
        }

        try
        {
            await WhenShippedAsync(last).ConfigureAwait(false);
            return true;
        }
        catch (FencedException)
        {
            return false;
        }
    }

    /// <summary>Stops committing: what is not committed is not acknowledged.</summary>
    public void Fail(FencedException failure)
    {
        List<(long Sequence, TaskCompletionSource Done)> waiters;
        lock (_lock)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = failure;
            waiters = [.. _waiters];
            _waiters.Clear();
            _queue.Clear();
        }

        _stop.Cancel();
        foreach (var (_, done) in waiters)
        {
            done.TrySetException(failure);
        }

        _failed(failure);
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new FencedException(_table, _epoch, $"Clustered table '{_table}' was closed on this node."));
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    public override string ToString() => $"PostgreSQL {_cluster.Schema.Rows}, table '{_table}', epoch {_epoch}";

    private async Task CommitLoopAsync()
    {
        try
        {
            while (true)
            {
                await _pending.WaitAsync(_stop.Token).ConfigureAwait(false);

                // A slot first, then the writes: the writers a commit in flight carries come back once it is made, and
                // a batch taken before that would leave them for the next (halving every commit with one in flight).
                await MakeRoomAsync(null).ConfigureAwait(false);
                await GatherAsync().ConfigureAwait(false);
                List<JournalRecord> batch;
                lock (_lock)
                {
                    batch = _queue;
                    _queue = _spare;
                    _spare = batch;
                }

                for (var start = 0; start < batch.Count; start += _cluster.Options.MaxWritesPerCommit)
                {
                    var count = Math.Min(_cluster.Options.MaxWritesPerCommit, batch.Count - start);
                    var states = KeyStates.Of(batch, start, count);
                    await MakeRoomAsync(states).ConfigureAwait(false);
                    var first = _handedOn + 1;
                    _handedOn = batch[start + count - 1].Sequence;
                    _previous = CommitInTurnAsync(states, first, _handedOn, count, _previous);
                    _inFlight.Add(new InFlight(_previous, states));
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Whatever stops the commit loop stops this node's ownership: writes must never wait on a loop that is gone.
            Fail(new FencedException(_table, _epoch, $"The commit loop of clustered table '{_table}' failed: {e.GetType().Name}: {e.Message}", e));
        }

        // Nothing runs after the replica is disposed: the commits in flight end (a failure cancelled them).
        await Task.WhenAll(_inFlight.Select(c => c.Done)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Waits until fewer than <see cref="PostgresClusterOptions.MaxCommitsInFlight"/> commits are in flight
    /// and, when <paramref name="states"/> is given, none of them shares a key with it (or empties the table, or is
    /// emptied by it): two commits in flight never wait for each other's rows, so neither can deadlock the other.</summary>
    private async Task MakeRoomAsync(KeyStates? states)
    {
        while (true)
        {
            _stop.Token.ThrowIfCancellationRequested();
            _inFlight.RemoveAll(c => c.Done.IsCompleted);
            if (_inFlight.Count < _cluster.Options.MaxCommitsInFlight && (states is null || !_inFlight.Exists(c => c.States.SharesKeysWith(states))))
            {
                return;
            }

            await Task.WhenAny(_inFlight.Select(c => c.Done)).WaitAsync(_stop.Token).ConfigureAwait(false);
        }
    }

    /// <summary>One commit, in its turn: acknowledged once made (the commit function makes it visible only after the
    /// one before it, so every write up to <paramref name="last"/> is then committed). Never throws: a failure fails
    /// the replica.</summary>
    private async Task CommitInTurnAsync(KeyStates states, long first, long last, int writes, Task previous)
    {
        try
        {
            await CommitWithRetryAsync(states, first, last, previous).ConfigureAwait(false);
            _spool?.Shipped(last);
            Acknowledge(last, writes);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (FencedException e)
        {
            Fail(e);
        }
        catch (Exception e)
        {
            Fail(new FencedException(_table, _epoch, $"A commit of clustered table '{_table}' failed: {e.GetType().Name}: {e.Message}", e));
        }
    }

    /// <summary>Waits, at most <see cref="GatherLimit"/>, until as many writes are queued as the last commit carried.</summary>
    private async Task GatherAsync()
    {
        Task gathered;
        lock (_lock)
        {
            if (_queue.Count >= _lastCommitWrites)
            {
                return;
            }

            _gatherTarget = _lastCommitWrites;
            _gathered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gathered = _gathered.Task;
        }

        await gathered.WaitAsync(GatherLimit, _cluster.Time, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_lock)
        {
            _gathered = null;
        }
    }

    private void Acknowledge(long last, int writes)
    {
        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            // Commits in flight may finish out of order on this side; each one made implies those before it.
            _committed = Math.Max(_committed, last);
            _lastCommitWrites = writes;
            Volatile.Write(ref _commits, _commits + 1);
            Volatile.Write(ref _committedWrites, _committedWrites + writes);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Sequence <= last)
                {
                    (done ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(d => d.TrySetResult());
    }

    private async Task CommitWithRetryAsync(KeyStates states, long first, long last, Task previous)
    {
        var firstFailure = 0L;
        while (true)
        {
            try
            {
                await CommitAsync(states, first, last).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (e.SqlState == ClusterSchema.FencedState)
            {
                throw new FencedException(_table, _epoch, $"Clustered table '{_table}' was taken over by another node; this node's writes at epoch {_epoch} were refused.", e);
            }
            catch (PostgresException e) when (e.SqlState == ClusterSchema.OutOfOrderState && !previous.IsCompleted)
            {
                // It reached its last step before the commit before it had begun: made again once that one is.
                await previous.WaitAsync(_stop.Token).ConfigureAwait(false);
                ThrowIfFailed();
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
            {
                // The connection was lost mid-commit (or the commit failed otherwise), so it may or may not have
                // happened; trying it again is safe (whole key states, each row written only over a lower sequence,
                // same epoch) until the owner deadline, after which this node stops serving.
                firstFailure = firstFailure == 0 ? Math.Max(1, _cluster.Time.GetTimestamp()) : firstFailure;
                if (_cluster.Time.GetElapsedTime(firstFailure) > _cluster.Options.OwnerDeadline)
                {
                    throw new FencedException(_table, _epoch, $"This node could not commit clustered table '{_table}' to PostgreSQL for {_cluster.Options.OwnerDeadline.TotalMilliseconds:0} ms: {e.Message}", e);
                }

                await Task.Delay(_cluster.Options.CheckInterval / 4, _cluster.Time, _stop.Token).ConfigureAwait(false);
            }
        }
    }

    private void ThrowIfFailed()
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                throw _failure;
            }
        }
    }

    private async Task CommitAsync(KeyStates states, long first, long last)
    {
        await using var command = _cluster.Source.CreateCommand($"SELECT {_cluster.Schema.Commit}($1, $2, $3, $4, $5, $6, $7, $8)");
        command.Parameters.Add(new() { Value = _table });
        command.Parameters.Add(new() { Value = _epoch });
        command.Parameters.Add(new() { Value = first });
        command.Parameters.Add(new() { Value = last });
        command.Parameters.Add(new() { Value = states.ClearedAt });
        command.Parameters.Add(new() { Value = states.Keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = states.States, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = states.Sequences, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        await command.ExecuteNonQueryAsync(_stop.Token).ConfigureAwait(false);
    }

    private sealed record InFlight(Task Done, KeyStates States);
}
