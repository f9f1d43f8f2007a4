namespace Heirloom.Tables.Storage;

/// <summary>
/// A writer's lock on one stripe of a hash table: taken with one compare-and-swap, released with a plain write.
/// <see cref="Monitor"/> (and <see cref="Lock"/>) release with a second atomic operation and record an owner, and on
/// a hot key that was most of a write's cost. Not reentrant: the one thread that writes while holding every stripe, a
/// batch, is recognised by its store, and a function run under a key's lock may not write to its table. Waiting is
/// left to the store, which knows when a batch is worth blocking for.
/// </summary>
internal struct StripeLock
{
    private int _held;

    /// <summary>Takes the lock if it is free.</summary>
    public bool TryEnter() => Interlocked.CompareExchange(ref _held, 1, 0) == 0;

    /// <summary>Frees the lock; only its holder calls this.</summary>
    public void Exit() => Volatile.Write(ref _held, 0);
}
