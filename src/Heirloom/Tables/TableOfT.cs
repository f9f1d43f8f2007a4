using System.Runtime.CompilerServices;
using Heirloom.Processes;
using Heirloom.Tables.Storage;

namespace Heirloom.Tables;

/// <summary>
/// An ETS table of <typeparamref name="TKey"/> keys and <typeparamref name="TValue"/> values, owned by a process.
/// Every call checks the table exists and the caller's access (see <see cref="TableAccess"/>). Reads take no lock;
/// single writes are atomic; batch inserts and <see cref="DeleteAllObjects"/> are atomic and isolated; traversals never
/// throw because of concurrent writes and never visit a key twice.
/// </summary>
/// <remarks>
/// Values are stored as given, not copied: store immutable values (records, readonly structs, strings), since a
/// mutable object changed after insertion changes for every reader at once, outside the table's atomicity. Tables built
/// with <c>OffHeapTable.New</c> (or durable ones opened with off-heap storage) are the exception: they keep encoded
/// copies outside the GC heap, so an insert copies in and a read copies out, keys and bag values are compared by their
/// encodings, and the functions given to updates of their sets and bags may run more than once (see OffHeapTable).
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class Table<TKey, TValue> : Table
    where TKey : notnull
{
    private readonly TableStore<TKey, TValue> _store;

    // The hash engine this table built, when it is a hash table that any process may read and that has neither failed
    // nor been deleted: reads through it skip the access check and the virtual call. Reads never need a wrapping layer,
    // so durable hash tables read through it too. Null once the read gate closes, and from the start otherwise.
    private volatile HashStore<TKey, TValue>? _uncheckedReads;

    // The same for another engine whose reads are lock-free (the off-heap hash engine): its reads skip the check, not
    // the virtual call, which costs little beside the decoding such an engine does.
    private volatile TableStore<TKey, TValue>? _uncheckedLockFreeReads;

    // The same engine when nothing wraps it, so writes may skip the virtual call as well; null when a layer (the
    // journal) must see every write.
    private readonly HashStore<TKey, TValue>? _hashWrites;

    internal Table(Node node, TableOptions options, Process? owner, IEqualityComparer<TKey>? keyComparer, IComparer<TKey>? keyOrder, Func<TableStore<TKey, TValue>, TableStore<TKey, TValue>>? wrap = null, TableStore<TKey, TValue>? engine = null)
        : base(node, options, owner)
    {
        engine ??= NewEngine(options.Type, keyComparer, keyOrder);
        var hash = engine as HashStore<TKey, TValue>;
        _store = wrap is null ? engine : wrap(engine);
        _hashWrites = wrap is null ? hash : null;
        _uncheckedReads = options.Access == TableAccess.Private ? null : hash;
        var lockFree = hash is null && engine.Capabilities.HasFlag(StoreCapabilities.LockFreeReads);
        _uncheckedLockFreeReads = options.Access != TableAccess.Private && lockFree ? engine : null;
    }

    /// <summary>The storage engine a table of <paramref name="type"/> is built on: a hash engine, or a B-link tree for
    /// an ordered set.</summary>
    internal static TableStore<TKey, TValue> NewEngine(TableType type, IEqualityComparer<TKey>? keyComparer, IComparer<TKey>? keyOrder) =>
        type == TableType.OrderedSet ? new BTreeStore<TKey, TValue>(keyOrder) : new HashStore<TKey, TValue>(type, keyComparer);

    /// <summary>How many objects the table holds (<c>ets:info(Tab, size)</c>); any process may ask.</summary>
    /// <exception cref="TableException">The table was deleted.</exception>
    public long Count
    {
        get
        {
            ThrowIfDeleted();
            return _store.Count;
        }
    }

    internal override Type KeyType => typeof(TKey);

    private protected override void CloseUncheckedReads()
    {
        _uncheckedReads = null;
        _uncheckedLockFreeReads = null;
    }

    /// <summary>The storage, for durable tables to reach their journal.</summary>
    internal TableStore<TKey, TValue> Store => _store;

    internal override object UntypedStore => _store;

    internal override Type ValueType => typeof(TValue);

    private bool IsBag => Type is TableType.Bag or TableType.DuplicateBag;

    /// <summary>The value of a key, without allocating; for a bag, its first value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when found.</param>
    public bool TryGetValue(TKey key, out TValue value)
    {
        if (_uncheckedReads is { } hash)
        {
            return hash.TryGetValue(key, out value);
        }

        if (_uncheckedLockFreeReads is { } lockFree)
        {
            return lockFree.TryGetValue(key, out value);
        }

        (var found, value) = ReadChecked(key);
        return found;
    }

    // Returns the value rather than writing through an out parameter, so that the caller's variable can stay in a
    // register on the inlined path above.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (bool Found, TValue Value) ReadChecked(TKey key)
    {
        CheckRead();
        var found = _store.TryGetValue(key, out var value);
        return (found, value);
    }

    /// <summary>All values of a key (<c>ets:lookup/2</c>): none or one for a set, in insertion order for a bag.</summary>
    /// <param name="key">The key.</param>
    public IReadOnlyList<TValue> Lookup(TKey key)
    {
        CheckRead();
        return _store.Lookup(key);
    }

    /// <summary>Whether the key is in the table (<c>ets:member/2</c>).</summary>
    /// <param name="key">The key.</param>
    public bool ContainsKey(TKey key)
    {
        CheckRead();
        return _store.ContainsKey(key);
    }

    /// <summary>Inserts an object (<c>ets:insert/2</c>): a set replaces the key's value; a bag adds the value unless
    /// the identical object is there; a duplicate bag always adds it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public void Insert(TKey key, TValue value)
    {
        CheckWrite();
        if (_hashWrites is { } hash)
        {
            hash.Insert(key, value);
        }
        else
        {
            _store.Insert(key, value);
        }
    }

    /// <summary>Inserts several objects as one atomic, isolated step: no reader sees some without the others.</summary>
    /// <param name="objects">The objects, applied in order.</param>
    public void Insert(IEnumerable<KeyValuePair<TKey, TValue>> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        InsertInOrder(InEtsOrder(objects));
    }

    /// <summary>Inserts the object only when the key is absent (<c>ets:insert_new/2</c>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>Whether it was inserted.</returns>
    public bool InsertNew(TKey key, TValue value)
    {
        CheckWrite();
        return _store.InsertNew(key, value);
    }

    /// <summary>Inserts all the objects only when none of their keys is present: all or nothing, atomically.</summary>
    /// <param name="objects">The objects.</param>
    /// <returns>Whether they were inserted.</returns>
    public bool InsertNew(IEnumerable<KeyValuePair<TKey, TValue>> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        CheckWrite();
        var all = InEtsOrder(objects);
        _store.EnterBatch();
        try
        {
            foreach (var (key, _) in all)
            {
                if (_store.ContainsKeyInBatch(key))
                {
                    return false;
                }
            }

            _store.InsertAll(all);
            return true;
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    /// <summary>Removes a key and returns its values, atomically (<c>ets:take/2</c>).</summary>
    /// <param name="key">The key.</param>
    public IReadOnlyList<TValue> Take(TKey key)
    {
        CheckWrite();
        return _store.Take(key);
    }

    /// <summary>Removes a key and all its values (<c>ets:delete/2</c>).</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether the key was there.</returns>
    public bool Delete(TKey key)
    {
        CheckWrite();
        return _store.Delete(key);
    }

    /// <summary>Removes one exact object (<c>ets:delete_object/2</c>); in a duplicate bag, every identical copy.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>Whether anything was removed.</returns>
    public bool DeleteObject(TKey key, TValue value)
    {
        CheckWrite();
        return _store.DeleteObject(key, value);
    }

    /// <summary>Empties the table in one atomic, isolated step (<c>ets:delete_all_objects/1</c>).</summary>
    public void DeleteAllObjects()
    {
        CheckWrite();
        _store.EnterBatch();
        try
        {
            _store.Clear();
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    /// <summary>
    /// Atomically adds a value or updates the present one (sets and ordered sets): what ETS lacks, a
    /// compute-and-update on one key that no other writer can interleave with.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="addValue">Stored when the key is absent.</param>
    /// <param name="update">Computes the new value from the present one; it runs under the key's lock, so keep it short and pure.</param>
    /// <returns>The value now stored.</returns>
    /// <exception cref="TableException">The table is a bag (TableType).</exception>
    /// <exception cref="TableException">A function given here wrote to this table (BadArgument): it runs under the table's write lock; nothing was changed by that write.</exception>
    public TValue AddOrUpdate(TKey key, TValue addValue, Func<TKey, TValue, TValue> update)
    {
        ArgumentNullException.ThrowIfNull(update);
        CheckWrite();
        ThrowIfBag("AddOrUpdate");
        using var running = RunningCallerFunction();
        return _store.Update(key, (addValue, update), static (TKey k, bool found, TValue current, (TValue Add, Func<TKey, TValue, TValue> Update) s, out TValue next) =>
        {
            next = found ? s.Update(k, current) : s.Add;
            return true;
        }, out _);
    }

    /// <summary>Atomically updates the value of a present key (sets and ordered sets).</summary>
    /// <param name="key">The key.</param>
    /// <param name="update">Computes the new value; it runs under the key's lock.</param>
    /// <param name="value">The new value, when the key was present.</param>
    /// <returns>Whether the key was present.</returns>
    /// <exception cref="TableException">The table is a bag (TableType).</exception>
    /// <exception cref="TableException">A function given here wrote to this table (BadArgument): it runs under the table's write lock; nothing was changed by that write.</exception>
    public bool TryUpdate(TKey key, Func<TKey, TValue, TValue> update, out TValue value)
    {
        ArgumentNullException.ThrowIfNull(update);
        CheckWrite();
        ThrowIfBag("TryUpdate");
        using var running = RunningCallerFunction();
        value = _store.Update(key, update, static (TKey k, bool found, TValue current, Func<TKey, TValue, TValue> u, out TValue next) =>
        {
            next = found ? u(k, current) : default!;
            return found;
        }, out var found);
        return found;
    }

    /// <summary>The first key (<c>ets:first/1</c>): the smallest for an ordered set, in hash order otherwise.</summary>
    /// <param name="key">The key, when the table is not empty.</param>
    public bool TryFirst(out TKey key)
    {
        CheckRead();
        return _store.TryFirst(out key);
    }

    /// <summary>The last key (<c>ets:last/1</c>): the greatest for an ordered set; as <see cref="TryFirst"/> otherwise.</summary>
    /// <param name="key">The key, when the table is not empty.</param>
    public bool TryLast(out TKey key)
    {
        CheckRead();
        return _store.TryLast(out key);
    }

    /// <summary>The key after <paramref name="key"/> (<c>ets:next/2</c>). An ordered set accepts any key; a hash table
    /// needs the key to be present, unless the table is fixed (<see cref="Fix"/>), when a deleted key still works.</summary>
    /// <param name="key">The key to continue from.</param>
    /// <param name="next">The next key, unless the end was reached.</param>
    /// <exception cref="TableException">A hash table's key is not present and the table is not fixed (BadKey).</exception>
    public bool TryNext(TKey key, out TKey next)
    {
        CheckRead();
        return _store.TryNext(key, out next);
    }

    /// <summary>The key before <paramref name="key"/> (<c>ets:prev/2</c>); for hash tables the same as <see cref="TryNext"/>.</summary>
    /// <param name="key">The key to continue from.</param>
    /// <param name="previous">The previous key, unless the start was reached.</param>
    public bool TryPrevious(TKey key, out TKey previous)
    {
        CheckRead();
        return _store.TryPrevious(key, out previous);
    }

    /// <summary>
    /// Fixes a hash table for a safe first/next traversal (<c>ets:safe_fixtable/2</c>): until the returned handle is
    /// disposed, every key present at the start is visited once, even if deleted meanwhile. Ordered sets need no fixing.
    /// </summary>
    public IDisposable Fix()
    {
        CheckRead();
        _store.Fix();
        return new Fixation(this);
    }

    /// <summary>The projections of the objects that match (<c>ets:select/2</c>), in table order.</summary>
    /// <typeparam name="TResult">What the projection returns.</typeparam>
    /// <param name="where">Which objects match.</param>
    /// <param name="project">What to return for each match.</param>
    public List<TResult> Select<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project)
    {
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(project);
        CheckRead();
        return [.. Matches(where, project, reverse: false)];
    }

    /// <summary>The first <paramref name="limit"/> matches and a continuation for the rest (<c>ets:select/3</c>).</summary>
    /// <typeparam name="TResult">What the projection returns.</typeparam>
    /// <param name="where">Which objects match.</param>
    /// <param name="project">What to return for each match.</param>
    /// <param name="limit">At most this many per chunk; at least 1.</param>
    /// <exception cref="TableException">The limit is less than 1 (BadArgument).</exception>
    public SelectPage<TResult> Select<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project, int limit) =>
        SelectChunk(where, project, limit, reverse: false);

    /// <summary>As <see cref="Select{TResult}(Func{TKey, TValue, bool}, Func{TKey, TValue, TResult}, int)"/>, from the
    /// last key backwards for an ordered set (<c>ets:select_reverse/3</c>); in table order for hash tables.</summary>
    /// <typeparam name="TResult">What the projection returns.</typeparam>
    /// <param name="where">Which objects match.</param>
    /// <param name="project">What to return for each match.</param>
    /// <param name="limit">At most this many per chunk; at least 1.</param>
    public SelectPage<TResult> SelectReverse<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project, int limit) =>
        SelectChunk(where, project, limit, reverse: true);

    /// <summary>All matches, from the last key backwards for an ordered set (<c>ets:select_reverse/2</c>).</summary>
    /// <typeparam name="TResult">What the projection returns.</typeparam>
    /// <param name="where">Which objects match.</param>
    /// <param name="project">What to return for each match.</param>
    public List<TResult> SelectReverse<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project)
    {
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(project);
        CheckRead();
        return [.. Matches(where, project, reverse: true)];
    }

    /// <summary>How many objects match (<c>ets:select_count/2</c>).</summary>
    /// <param name="where">Which objects match.</param>
    public long SelectCount(Func<TKey, TValue, bool> where)
    {
        ArgumentNullException.ThrowIfNull(where);
        CheckRead();
        long count = 0;
        foreach (var (key, value) in _store.Enumerate(reverse: false))
        {
            if (where(key, value))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Deletes the objects that match (<c>ets:select_delete/2</c>); each object's match and delete are atomic.</summary>
    /// <param name="where">Which objects to delete.</param>
    /// <returns>How many objects were deleted.</returns>
    /// <exception cref="TableException">A function given here wrote to this table (BadArgument): it runs under the table's write lock; nothing was changed by that write.</exception>
    public long SelectDelete(Func<TKey, TValue, bool> where)
    {
        ArgumentNullException.ThrowIfNull(where);
        CheckWrite();
        using var running = RunningCallerFunction();
        long deleted = 0;
        foreach (var key in DistinctKeys())
        {
            deleted += _store.DeleteWhere(key, where, static (k, v, w) => w(k, v));
        }

        return deleted;
    }

    /// <summary>
    /// Replaces the values of matching objects (<c>ets:select_replace/2</c>), each key atomically: an object is replaced
    /// only if it still matches when its key is locked, which makes this a compare-and-swap. Sets, ordered sets and
    /// duplicate bags (each copy replaced in place); not bags, as in ETS.
    /// </summary>
    /// <param name="where">Which objects to replace.</param>
    /// <param name="replace">The new value for a matching object.</param>
    /// <returns>How many objects were replaced.</returns>
    /// <exception cref="TableException">The table is a bag (TableType).</exception>
    /// <exception cref="TableException">A function given here wrote to this table (BadArgument): it runs under the table's write lock; nothing was changed by that write.</exception>
    public long SelectReplace(Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(replace);
        CheckWrite();
        if (Type == TableType.Bag)
        {
            throw new TableException(TableError.TableType, $"SelectReplace does not apply to bags (as in ETS); {this} is a Bag.");
        }

        using var running = RunningCallerFunction();
        long replaced = 0;
        foreach (var key in DistinctKeys())
        {
            replaced += _store.ReplaceWhere(key, where, replace);
        }

        return replaced;
    }

    /// <summary>The objects of an ordered set with keys from <paramref name="from"/> to <paramref name="to"/>, inclusive, in order.</summary>
    /// <param name="from">The lowest key.</param>
    /// <param name="to">The highest key.</param>
    /// <exception cref="TableException">The table is not an ordered set (TableType).</exception>
    public List<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to)
    {
        CheckRead();
        if ((_store.Capabilities & StoreCapabilities.Ordered) == 0)
        {
            throw new TableException(TableError.TableType, $"Range needs an ordered set; {this} is a {Type}.");
        }

        return [.. _store.Range(from, to)];
    }

    /// <summary>Folds over every object in table order (<c>ets:foldl/3</c>).</summary>
    /// <typeparam name="TAccumulate">The accumulator.</typeparam>
    /// <param name="seed">The initial accumulator.</param>
    /// <param name="fold">Combines the accumulator with an object.</param>
    public TAccumulate Fold<TAccumulate>(TAccumulate seed, Func<TAccumulate, TKey, TValue, TAccumulate> fold) => FoldCore(seed, fold, reverse: false);

    /// <summary>Folds from the last object backwards for an ordered set (<c>ets:foldr/3</c>); in table order otherwise.</summary>
    /// <typeparam name="TAccumulate">The accumulator.</typeparam>
    /// <param name="seed">The initial accumulator.</param>
    /// <param name="fold">Combines the accumulator with an object.</param>
    public TAccumulate FoldReverse<TAccumulate>(TAccumulate seed, Func<TAccumulate, TKey, TValue, TAccumulate> fold) => FoldCore(seed, fold, reverse: true);

    /// <summary>Every object, in table order (<c>ets:tab2list/1</c>).</summary>
    public List<KeyValuePair<TKey, TValue>> ToList()
    {
        CheckRead();
        return [.. _store.Enumerate(reverse: false)];
    }

    /// <inheritdoc />
    public override TableInfo? GetInfo()
    {
        if (IsDeleted)
        {
            return null;
        }

        var count = _store.Count;
        return new TableInfo(Name, Type, Access, Owner, Heir, count, count * _store.BytesPerObject, _store.IsFixed);
    }

    /// <summary>Inserts objects in the given order as one batch, whatever the type (a loaded file keeps a bag's order).</summary>
    internal void InsertInOrder(IReadOnlyList<KeyValuePair<TKey, TValue>> objects)
    {
        CheckWrite();
        _store.EnterBatch();
        try
        {
            _store.InsertAll(objects);
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    /// <summary>Every object, read in isolation from writers (as one batch), for a consistent save.</summary>
    internal List<KeyValuePair<TKey, TValue>> SnapshotObjects()
    {
        CheckRead();
        _store.EnterBatch();
        try
        {
            return [.. _store.Enumerate(reverse: false)];
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    internal TValue UpdateCounter<TUpdate>(TKey key, TUpdate update, out bool found)
        where TUpdate : struct, IValueUpdate<TKey, TValue>
    {
        CheckWrite();
        ThrowIfBag("UpdateCounter");
        return _hashWrites is { } hash
            ? hash.Update(key, update, out found)
            : _store.Update(key, update, static (TKey k, bool found, TValue current, TUpdate u, out TValue next) => u.Apply(k, found, current, out next), out found);
    }

    internal TValue[] UpdateCounters<TState>(IReadOnlyList<(TKey Key, TState State)> updates, Func<TKey, bool> isKnown, UpdateFunc<TKey, TValue, TState> update)
    {
        CheckWrite();
        ThrowIfBag("UpdateCounters");
        _store.EnterBatch();
        try
        {
            // All or nothing: every key is checked before any is changed.
            foreach (var (key, _) in updates)
            {
                if (!_store.ContainsKeyInBatch(key) && !isKnown(key))
                {
                    throw new TableException(TableError.BadKey, $"Key {key} is not in {this} and its update has no default: no counter was changed.");
                }
            }

            var results = new TValue[updates.Count];
            for (var i = 0; i < updates.Count; i++)
            {
                results[i] = _store.Update(updates[i].Key, updates[i].State, update, out _);
            }

            return results;
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    private protected override void ReleaseStorage() => _store.Release();

    /// <summary>The order ETS applies a list in: a bag takes it last to first (so a key's values from one list end up
    /// reversed), the other types first to last (so a set keeps the last value of a repeated key).</summary>
    private KeyValuePair<TKey, TValue>[] InEtsOrder(IEnumerable<KeyValuePair<TKey, TValue>> objects)
    {
        var all = objects.ToArray();
        if (Type == TableType.Bag)
        {
            Array.Reverse(all);
        }

        return all;
    }

    /// <summary>Each key once: a bag's values of a key are enumerated together, so repeats are adjacent.</summary>
    private IEnumerable<TKey> DistinctKeys()
    {
        var first = true;
        TKey last = default!;
        foreach (var (key, _) in _store.Enumerate(reverse: false))
        {
            if (first || !IsBag || !EqualityComparer<TKey>.Default.Equals(key, last))
            {
                yield return key;
            }

            first = false;
            last = key;
        }
    }

    private SelectPage<TResult> SelectChunk<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project, int limit, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(where);
        ArgumentNullException.ThrowIfNull(project);
        CheckRead();
        if (limit < 1)
        {
            throw new TableException(TableError.BadArgument, $"A select limit must be at least 1, not {limit}.");
        }

        return SelectContinuation<TResult>.Take(this, Matches(where, project, reverse).GetEnumerator(), limit);
    }

    private IEnumerable<TResult> Matches<TResult>(Func<TKey, TValue, bool> where, Func<TKey, TValue, TResult> project, bool reverse)
    {
        foreach (var (key, value) in _store.Enumerate(reverse))
        {
            if (where(key, value))
            {
                yield return project(key, value);
            }
        }
    }

    private TAccumulate FoldCore<TAccumulate>(TAccumulate seed, Func<TAccumulate, TKey, TValue, TAccumulate> fold, bool reverse)
    {
        ArgumentNullException.ThrowIfNull(fold);
        CheckRead();
        var accumulator = seed;
        foreach (var (key, value) in _store.Enumerate(reverse))
        {
            accumulator = fold(accumulator, key, value);
        }

        return accumulator;
    }

    private void ThrowIfBag(string operation)
    {
        if (IsBag)
        {
            throw new TableException(TableError.TableType, $"{operation} applies to sets and ordered sets; {this} is a {Type}.");
        }
    }

    private sealed class Fixation(Table<TKey, TValue> table) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0 && !table.IsDeleted)
            {
                table._store.Unfix();
            }
        }
    }
}
