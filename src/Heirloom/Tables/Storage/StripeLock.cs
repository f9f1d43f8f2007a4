namespace Heirloom.Tables.Storage;

/// <summary>
/// A writer's lock on one stripe of a hash table. Reentrant for its holder, as <see cref="Monitor"/> is (a batch holds
/// every stripe and then writes through them), but taken with one compare-and-swap and released with plain writes:
/// Monitor's release is a second atomic operation, and on a hot key the pair was most of a write's cost. Waiting is left to the caller (see
/// <see cref="HashStore{TKey,TValue}"/>), which knows when a batch is worth blocking for.
/// </summary>
internal struct StripeLock
{
    private int _held;

    // The holder's managed thread id, 0 when free; written only by the holder, and cleared before it lets go, so a
    // thread that reads its own id here holds the lock.
    private int _owner;

    // How many times the holder has entered; the holder alone reads and writes it.
    private int _depth;

    /// <summary>Takes the lock if it is free or already held by this thread.</summary>
    public bool TryEnter()
    {
        var self = Environment.CurrentManagedThreadId;
        if (Interlocked.CompareExchange(ref _held, 1, 0) == 0)
        {
            _owner = self;
            _depth = 1;
            return true;
        }

        if (Volatile.Read(ref _owner) == self)
        {
            _depth++;
            return true;
        }

        return false;
    }

    /// <summary>Leaves the lock once; the last exit of the holder frees it.</summary>
    public void Exit()
    {
        if (--_depth == 0)
        {
            _owner = 0;
            Volatile.Write(ref _held, 0);
        }
    }
}
