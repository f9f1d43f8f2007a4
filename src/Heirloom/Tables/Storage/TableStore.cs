using System.Runtime.CompilerServices;

namespace Heirloom.Tables.Storage;

/// <summary>
/// The storage engine behind a table. Reads never throw because of concurrent writes (the heap engines read without a
/// lock; engines that free an object's memory when it is deleted hold a short one to copy it out); single-key writes
/// are atomic; a batch runs inside <see cref="EnterBatch"/>/<see cref="ExitBatch"/>, which excludes all other
/// writers and makes readers wait until the batch is complete, so batches are atomic and isolated.
/// </summary>
internal abstract class TableStore<TKey, TValue>
    where TKey : notnull
{
    // Odd while a batch is being applied. Readers read it before and after a read and retry when it moved, which
    // is what makes a batch isolated without readers ever taking a lock.
    private int _batchEpoch;

    public abstract long Count { get; }

    /// <summary>Bytes per object, for the memory estimate.</summary>
    public abstract int BytesPerObject { get; }

    public abstract bool IsFixed { get; }

    /// <summary>What this layer (and any layer it wraps) can do.</summary>
    public abstract StoreCapabilities Capabilities { get; }

    // Held for the whole of a batch; a reader that met one waits here instead of spinning, so a stream of batches
    // cannot starve readers.
    private readonly Lock _batchGate = new();

    // Batches entered and not yet exited by the thread holding the gate, which may enter again; guarded by the gate.
    // Only the outermost takes the writers' locks and moves the epoch, which stays odd until it exits.
    private int _batchDepth;

    protected int BatchEpoch => Volatile.Read(ref _batchEpoch);

    /// <summary>Whether the calling thread runs a batch that holds every writer lock (the epoch is odd only while one
    /// does).</summary>
    protected bool BatchHeldByThisThread => (BatchEpoch & 1) != 0 && _batchGate.IsHeldByCurrentThread;

    /// <summary>Excludes every other writer (reentrant for this thread) and marks a batch in progress.</summary>
    public virtual void EnterBatch()
    {
        _batchGate.Enter();
        if (++_batchDepth == 1)
        {
            LockAllWriters();
            Interlocked.Increment(ref _batchEpoch);
        }
    }

    public virtual void ExitBatch()
    {
        if (--_batchDepth == 0)
        {
            Interlocked.Increment(ref _batchEpoch);
            UnlockAllWriters();
        }

        _batchGate.Exit();
    }

    /// <summary>The table is deleted: drop the objects (readers still holding the table stay consistent).</summary>
    public virtual void Release()
    {
        EnterBatch();
        try
        {
            Clear();
        }
        finally
        {
            ExitBatch();
        }
    }

    /// <summary>Blocks a reader until the batch it met is complete.</summary>
    protected void WaitForBatch()
    {
        _batchGate.Enter();
        _batchGate.Exit();
    }

    /// <summary>Takes a writer's stripe lock; false when this thread's batch already holds it (the batch frees it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected bool EnterStripe(StripeLock[] locks, int index) => locks[index].TryEnter() || WaitForStripe(locks, index);

    /// <summary>Waits for a stripe held by another thread: held for a few writes or copies, so spinning (then
    /// yielding) is cheaper than blocking, except behind a batch, which may run long and is waited for on its gate.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForStripe(StripeLock[] locks, int index)
    {
        var spinner = default(SpinWait);
        do
        {
            if ((BatchEpoch & 1) == 0)
            {
                spinner.SpinOnce();
            }
            else if (BatchHeldByThisThread)
            {
                return false;
            }
            else
            {
                WaitForBatch();
            }
        }
        while (!locks[index].TryEnter());
        return true;
    }

    protected abstract void LockAllWriters();

    protected abstract void UnlockAllWriters();

    // Reads. For bags, the values of a key in insertion order; for sets, at most one.
    public abstract bool TryGetValue(TKey key, out TValue value);

    public abstract TValue[] Lookup(TKey key);

    public abstract bool ContainsKey(TKey key);

    // Single-key writes, each atomic.
    public abstract void Insert(TKey key, TValue value);

    public abstract bool InsertNew(TKey key, TValue value);

    /// <summary>Inserts objects in order, inside a batch the caller holds. A store that encodes objects encodes them all
    /// before inserting any, so that one it cannot encode leaves the table unchanged.</summary>
    public virtual void InsertAll(IReadOnlyList<KeyValuePair<TKey, TValue>> objects)
    {
        foreach (var (key, value) in objects)
        {
            Insert(key, value);
        }
    }

    public abstract TValue[] Take(TKey key);

    public abstract bool Delete(TKey key);

    /// <summary>Deletes the exact object; in a duplicate bag, every identical copy, as ETS's delete_object. Values are
    /// compared with their default equality; a store that keeps objects as bytes compares the bytes instead.</summary>
    public virtual bool DeleteObject(TKey key, TValue value) =>
        DeleteWhere(key, value, static (_, v, expected) => EqualityComparer<TValue>.Default.Equals(v, expected)) > 0;

    /// <summary>Deletes the objects of a key whose values match, atomically; returns how many went.</summary>
    public abstract int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match);

    /// <summary>Replaces the values of a key that match, atomically for the key; returns how many were replaced.</summary>
    public abstract int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace);

    /// <summary>A read for the writer inside a batch, which must not wait for its own batch.</summary>
    public abstract bool ContainsKeyInBatch(TKey key);

    /// <summary>The values of a key, read by a writer that excludes all others (no wait for its own batch).</summary>
    public abstract TValue[] LookupInBatch(TKey key);

    /// <summary>Atomically replaces the value of a key (sets only): <paramref name="update"/> sees whether the key is
    /// there and its value, and says whether to store a new one. Returns the value stored, or the current one.</summary>
    public abstract TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found);

    public abstract void Clear();

    // Traversal: a consistent walk that never visits a key twice, and in hash order for hash stores.
    public abstract IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse);

    /// <summary>The objects with keys from <paramref name="from"/> to <paramref name="to"/>, inclusive, in key order;
    /// only for a store with <see cref="StoreCapabilities.Ordered"/>.</summary>
    public virtual IEnumerable<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to) =>
        throw new NotSupportedException("Range needs a store with StoreCapabilities.Ordered.");

    public abstract bool TryFirst(out TKey key);

    public abstract bool TryLast(out TKey key);

    public abstract bool TryNext(TKey key, out TKey next);

    public abstract bool TryPrevious(TKey key, out TKey previous);

    /// <summary>Fixes the table for safe traversal; hash stores keep deleted keys' positions until unfixed.</summary>
    public abstract void Fix();

    public abstract void Unfix();
}
