namespace Heirloom.Tables.Storage;

/// <summary>
/// A writer's lock on one stripe of a hash table: taken with one compare-and-swap, released with a plain write.
/// <see cref="Monitor"/> (and <see cref="Lock"/>) release with a second atomic operation and record an owner, and on
/// a hot key that was most of a write's cost. Not reentrant: the one thread that writes while holding every stripe, a
/// batch, is recognised by its store, and a function run under a key's lock may not write to its table. Waiting is
/// left to the store, which knows when a batch is worth blocking for.
/// </summary>
/// <remarks>The lock is also a sequence lock: its word counts up by one when taken and by one when released, so it is
/// odd exactly while held, and a reader that read the same even <see cref="Version"/> before and after reading what the
/// stripe guards read it whole, with no writer in between (wrapping around takes 2^31 writes during one read).</remarks>
internal struct StripeLock
{
    private int _version;

    /// <summary>The lock's word: odd while held; it changes every time the lock is taken.</summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>Takes the lock if it is free.</summary>
    public bool TryEnter()
    {
        var version = Volatile.Read(ref _version);
        return (version & 1) == 0 && Interlocked.CompareExchange(ref _version, version + 1, version) == version;
    }

    /// <summary>Frees the lock; only its holder calls this.</summary>
    public void Exit() => Volatile.Write(ref _version, _version + 1);
}
