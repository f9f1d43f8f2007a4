using Heirloom.Processes;

namespace Heirloom.Postgres;

/// <summary>
/// A node's ownership of one clustered table: the table's advisory lock, held on the node's lock session
/// (<see cref="LockSession"/>) with every other table the node owns, and the epoch this node set when it took the lock
/// (one more than the last owner's). The ownership is lost (<see cref="Lost"/> completes) when the session breaks, the
/// epoch moved, the process it is for exited, or the session's statements did not succeed for
/// <see cref="PostgresClusterOptions.OwnerDeadline"/>.
/// </summary>
internal sealed class TableOwnership : IAsyncDisposable
{
    private readonly LockSession _session;
    private readonly TaskCompletionSource<FencedException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal TableOwnership(LockSession session, string table, Pid holder, long epoch, long lastSequence, string valueCodec)
    {
        _session = session;
        Table = table;
        Holder = holder;
        Epoch = epoch;
        LastSequence = lastSequence;
        ValueCodec = valueCodec;
    }

    public string Table { get; }

    /// <summary>The process the ownership is for: if it is gone without giving the ownership up (killed), the lock
    /// goes too.</summary>
    public Pid Holder { get; }

    /// <summary>The fencing token this node writes with.</summary>
    public long Epoch { get; }

    /// <summary>The sequence of the last write committed before this node took the table.</summary>
    public long LastSequence { get; }

    /// <summary>The value codec the table's rows were written with, as recorded when the lock was taken (no other node
    /// changes it while this one holds the lock).</summary>
    public string ValueCodec { get; }

    /// <summary>Completes, with why, once this node no longer owns the table.</summary>
    public Task<FencedException> Lost => _lost.Task;

    /// <summary>Waits (as long as it takes) for the table's lock, then takes the table by bumping its epoch. While it
    /// waits, the node's lock session ends the session of an owner whose lease expired (frozen, or silent), which
    /// releases the lock.</summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="table">The table.</param>
    /// <param name="holder">The process that holds the ownership.</param>
    /// <param name="refuse">Given the table's recorded key and value codecs once the lock is held, and before the
    /// epoch is bumped: why this node must not take the table (it cannot read its rows), or null. A refusal gives the
    /// lock up and is thrown.</param>
    /// <param name="cancellation">Stops waiting.</param>
    public static Task<TableOwnership> AcquireAsync(PostgresCluster cluster, string table, Pid holder, Func<string, string, Exception?> refuse, CancellationToken cancellation) =>
        cluster.Locks.AcquireAsync(table, holder, refuse, cancellation);

    /// <summary>Gives the ownership up: the lock session releases the lock and notifies the standbys.</summary>
    public async ValueTask DisposeAsync()
    {
        Lose($"This node gave up clustered table '{Table}'.", null);
        await _session.ReleaseAsync(this).ConfigureAwait(false);
    }

    /// <summary>A planned hand-off: gives the ownership up, reserving the table for <paramref name="successor"/> (see
    /// <see cref="LockSession.ReleaseAsync"/>); completes once the lock is released. Call it only once every write
    /// taken is committed and no more are taken.</summary>
    public async ValueTask HandOffAsync(string? successor)
    {
        Lose(successor is null ? $"This node handed off clustered table '{Table}'." : $"This node handed off clustered table '{Table}' to node {successor}.", null);
        await _session.ReleaseAsync(this, successor).ConfigureAwait(false);
    }

    internal void Lose(string message, Exception? cause) =>
        _lost.TrySetResult(new FencedException(Table, Epoch, message, cause));
}
