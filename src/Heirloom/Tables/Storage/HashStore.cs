using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Heirloom.Tables.Storage;

/// <summary>
/// Set, bag and duplicate-bag storage: a chained hash table in the design of ConcurrentDictionary. Readers walk the
/// chains with no lock; writers take one of a fixed set of striped locks; growing takes them all and copies the
/// nodes, so a reader or a traversal on the old array still sees a consistent table. A bag node holds an immutable
/// array of its values, replaced on every change.
/// </summary>
internal sealed class HashStore<TKey, TValue> : TableStore<TKey, TValue>
    where TKey : notnull
{
    private const int LockCount = 64;
    private const int InitialBuckets = 64;

    // A value that cannot be written in one machine word is never updated in place: the node is replaced, so a
    // lock-free reader never sees a torn value.
    private static readonly bool s_valueWritesAreAtomic = IsWriteAtomic();

    private readonly IEqualityComparer<TKey>? _comparer;
    private readonly bool _isBag;
    private readonly bool _keepsDuplicates;
    private readonly StripeLock[] _locks = new StripeLock[LockCount];
    private readonly int[] _counts = new int[LockCount];
    private volatile Entry?[] _buckets = new Entry?[InitialBuckets];
    private int _budget = InitialBuckets / LockCount;

    // While fixed (guarded by all locks), deleted nodes stay in their chains, marked, so that next/2 from a deleted key
    // still works and nothing moves: the table does not grow.
    private int _fixCount;

    public HashStore(TableType type, IEqualityComparer<TKey>? comparer)
    {
        Debug.Assert(type != TableType.OrderedSet, "Ordered sets use the skip list.");
        _isBag = type is TableType.Bag or TableType.DuplicateBag;
        _keepsDuplicates = type == TableType.DuplicateBag;
        _comparer = comparer ?? (typeof(TKey).IsValueType ? null : EqualityComparer<TKey>.Default);
    }

    public override long Count
    {
        get
        {
            long total = 0;
            for (var i = 0; i < LockCount; i++)
            {
                total += Volatile.Read(ref _counts[i]);
            }

            return total;
        }
    }

    public override int BytesPerObject => _isBag ? 88 : 56;

    public override bool IsFixed => Volatile.Read(ref _fixCount) > 0;

    public override StoreCapabilities Capabilities => StoreCapabilities.None;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryGetValue(TKey key, out TValue value)
    {
        var epoch = BatchEpoch;
        var node = FindLive(key);
        value = node is null ? default! : ReadFirst(node);

        // The common case: no batch began or ended around the read.
        if ((epoch & 1) == 0 && BatchEpoch == epoch)
        {
            return node is not null;
        }

        (var found, value) = ReadAfterBatch(key);
        return found;
    }

    // Returns the value rather than writing through an out parameter, so that the caller's variable, once the fast path
    // is inlined into it, can stay in a register.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (bool Found, TValue Value) ReadAfterBatch(TKey key)
    {
        var hash = Hash(key);
        while (true)
        {
            WaitForBatch();
            var epoch = BatchEpoch;
            if ((epoch & 1) == 0)
            {
                var node = FindLive(_buckets, key, hash);
                var value = node is null ? default! : ReadFirst(node);
                if (BatchEpoch == epoch)
                {
                    return (node is not null, value);
                }
            }
        }
    }

    public override TValue[] Lookup(TKey key)
    {
        var hash = Hash(key);
        while (true)
        {
            var epoch = BatchEpoch;
            if ((epoch & 1) == 0)
            {
                var node = FindLive(_buckets, key, hash);
                TValue[] values = node is null ? [] : _isBag ? [.. Bag(node).Values] : [node.Value];
                if (BatchEpoch == epoch)
                {
                    return values;
                }
            }

            WaitForBatch();
        }
    }

    public override bool ContainsKey(TKey key) => TryGetValue(key, out _);

    public override void Insert(TKey key, TValue value)
    {
        var chain = LockChain(key);
        try
        {
            if (chain.Node is null or { IsDeleted: true })
            {
                Add(ref chain, key, value);
            }
            else if (!_isBag)
            {
                SetValue(ref chain, value);
            }
            else if (_keepsDuplicates || !Contains(Bag(chain.Node).Values, value))
            {
                Bag(chain.Node).Values = [.. Bag(chain.Node).Values, value];
                _counts[chain.LockIndex]++;
            }
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override bool InsertNew(TKey key, TValue value)
    {
        var chain = LockChain(key);
        try
        {
            if (chain.Node is { IsDeleted: false })
            {
                return false;
            }

            Add(ref chain, key, value);
            return true;
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override TValue[] Take(TKey key)
    {
        var chain = LockChain(key);
        try
        {
            if (chain.Node is null or { IsDeleted: true })
            {
                return [];
            }

            TValue[] values = _isBag ? Bag(chain.Node).Values : [chain.Node.Value];
            Remove(ref chain, values.Length);
            return values;
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        var chain = LockChain(key);
        try
        {
            if (chain.Node is null or { IsDeleted: true })
            {
                return 0;
            }

            if (!_isBag)
            {
                if (!match(key, chain.Node.Value, state))
                {
                    return 0;
                }

                Remove(ref chain, 1);
                return 1;
            }

            var values = Bag(chain.Node).Values;
            var kept = Array.FindAll(values, v => !match(key, v, state));
            var removed = values.Length - kept.Length;
            if (kept.Length == 0)
            {
                Remove(ref chain, removed);
            }
            else if (removed > 0)
            {
                _counts[chain.LockIndex] -= removed;
                SetBagValues(chain.Node, kept);
            }

            return removed;
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        var chain = LockChain(key);
        try
        {
            if (chain.Node is null or { IsDeleted: true })
            {
                return 0;
            }

            if (!_isBag)
            {
                if (!where(key, chain.Node.Value))
                {
                    return 0;
                }

                SetValue(ref chain, replace(key, chain.Node.Value));
                return 1;
            }

            // Each copy is replaced in its place, as ETS does for a duplicate bag.
            var replaced = 0;
            var values = Bag(chain.Node).Values.ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                if (where(key, values[i]))
                {
                    values[i] = replace(key, values[i]);
                    replaced++;
                }
            }

            if (replaced > 0)
            {
                SetBagValues(chain.Node, values);
            }

            return replaced;
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override bool ContainsKeyInBatch(TKey key) => FindLive(_buckets, key, Hash(key)) is not null;

    public override TValue[] LookupInBatch(TKey key) => FindLive(_buckets, key, Hash(key)) is { } node
        ? _isBag ? [.. Bag(node).Values] : [node.Value]
        : [];

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found) =>
        Update(key, new DelegateUpdate<TState>(state, update), out found);

    /// <summary>The update of a key, for an update the compiler can inline (a counter's).</summary>
    public TValue Update<TUpdate>(TKey key, TUpdate update, out bool found)
        where TUpdate : struct, IValueUpdate<TKey, TValue>
    {
        Debug.Assert(!_isBag, "Updates apply to sets only.");
        var chain = LockChain(key);
        try
        {
            found = chain.Node is { IsDeleted: false };
            var current = found ? chain.Node!.Value : default!;
            if (!update.Apply(key, found, current, out var next))
            {
                return current;
            }

            if (found)
            {
                SetValue(ref chain, next);
            }
            else
            {
                Add(ref chain, key, next);
            }

            return next;
        }
        finally
        {
            Release(ref chain);
        }
    }

    public override void Clear()
    {
        // Called inside a batch: every lock is held.
        if (_fixCount > 0)
        {
            foreach (var head in _buckets)
            {
                for (var node = head; node is not null; node = node.Next)
                {
                    MarkDeleted(node);
                }
            }
        }
        else
        {
            _buckets = new Entry?[InitialBuckets];
            _budget = InitialBuckets / LockCount;
        }

        Array.Clear(_counts);
    }

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse)
    {
        // Hash tables have one order both ways, as ETS's foldr on a set. The array read here is never changed in
        // place by a resize, so the walk never visits a key twice.
        var buckets = _buckets;
        foreach (var head in buckets)
        {
            for (var node = Volatile.Read(ref Unsafe.AsRef(in head)); node is not null; node = node.Next)
            {
                if (node.IsDeleted)
                {
                    continue;
                }

                if (_isBag)
                {
                    foreach (var value in Bag(node).Values)
                    {
                        yield return new(node.Key, value);
                    }
                }
                else
                {
                    yield return new(node.Key, node.Value);
                }
            }
        }
    }

    public override bool TryFirst(out TKey key) => TryNextFrom(_buckets, 0, null, out key);

    public override bool TryLast(out TKey key) => TryFirst(out key);

    public override bool TryNext(TKey key, out TKey next)
    {
        var buckets = _buckets;
        var hash = Hash(key);
        var index = hash & (buckets.Length - 1);
        var node = Find(Volatile.Read(ref buckets[index]), key, hash);
        if (node is null || (node.IsDeleted && !IsFixed))
        {
            throw new TableException(TableError.BadKey, $"Key {key} is not in the table: next/previous from a key needs the key to exist, unless the table is fixed (Table.Fix) while traversing.");
        }

        return TryNextFrom(buckets, index, node, out next);
    }

    public override bool TryPrevious(TKey key, out TKey previous) => TryNext(key, out previous);

    public override void Fix()
    {
        LockAllWriters();
        _fixCount++;
        UnlockAllWriters();
    }

    public override void Unfix()
    {
        LockAllWriters();
        try
        {
            if (_fixCount == 0)
            {
                throw new TableException(TableError.BadArgument, "The table is not fixed.");
            }

            if (--_fixCount == 0)
            {
                PurgeDeleted();
            }
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    // Inside this thread's batch every stripe is already held (growing, fixing): nothing to take, nothing to free.
    protected override void LockAllWriters()
    {
        if (BatchHeldByThisThread)
        {
            return;
        }

        for (var i = 0; i < LockCount; i++)
        {
            EnterStripe(_locks, i);
        }
    }

    protected override void UnlockAllWriters()
    {
        if (BatchHeldByThisThread)
        {
            return;
        }

        for (var i = LockCount - 1; i >= 0; i--)
        {
            _locks[i].Exit();
        }
    }

    private static bool IsWriteAtomic() =>
        !typeof(TValue).IsValueType ||
        typeof(TValue) == typeof(IntPtr) || typeof(TValue) == typeof(UIntPtr) ||
        (typeof(TValue).IsPrimitive && Unsafe.SizeOf<TValue>() <= IntPtr.Size);

    /// <summary>The first live key after <paramref name="after"/> in its chain, then in the following buckets; from
    /// the head of bucket <paramref name="index"/> when <paramref name="after"/> is null.</summary>
    private static bool TryNextFrom(Entry?[] buckets, int index, Entry? after, out TKey key)
    {
        var node = after is null ? Volatile.Read(ref buckets[index]) : after.Next;
        while (true)
        {
            for (; node is not null; node = node.Next)
            {
                if (!node.IsDeleted)
                {
                    key = node.Key;
                    return true;
                }
            }

            if (++index >= buckets.Length)
            {
                key = default!;
                return false;
            }

            node = Volatile.Read(ref buckets[index]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Hash(TKey key)
    {
        var hash = typeof(TKey).IsValueType && _comparer is null ? EqualityComparer<TKey>.Default.GetHashCode(key) : _comparer!.GetHashCode(key);
        return Mix(hash);
    }

    // Folds the high bits into the low ones the bucket mask keeps; the sign bit is cleared because a deleted node kept
    // for a fixed table is marked by it.
    private static int Mix(int hash) => (hash ^ (hash >>> 16)) & int.MaxValue;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool KeyEquals(TKey a, TKey b) =>
        typeof(TKey).IsValueType && _comparer is null ? EqualityComparer<TKey>.Default.Equals(a, b) : _comparer!.Equals(a, b);

    /// <summary>The live node of a key in the current buckets. A value-type key with the default comparer gets its own
    /// loop, which tests for the comparer once rather than at the hash and at every key compared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Entry? FindLive(TKey key)
    {
        if (!typeof(TKey).IsValueType || _comparer is not null)
        {
            return FindLive(_buckets, key, Hash(key));
        }

        var hash = Mix(EqualityComparer<TKey>.Default.GetHashCode(key));
        var buckets = _buckets;
        for (var node = Volatile.Read(ref buckets[hash & (buckets.Length - 1)]); node is not null; node = node.Next)
        {
            if (node.Hash == hash && EqualityComparer<TKey>.Default.Equals(node.Key, key))
            {
                return node;
            }
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Entry? FindLive(Entry?[] buckets, TKey key, int hash)
    {
        for (var node = Volatile.Read(ref buckets[hash & (buckets.Length - 1)]); node is not null; node = node.Next)
        {
            // A deleted node kept for a fixed table has its hash's sign bit set, so it never matches here.
            if (node.Hash == hash && KeyEquals(node.Key, key))
            {
                return node;
            }
        }

        return null;
    }

    private Entry? Find(Entry? head, TKey key, int hash)
    {
        for (var node = head; node is not null; node = node.Next)
        {
            if ((node.Hash & int.MaxValue) == hash && KeyEquals(node.Key, key))
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Locks the stripe of a key's chain in the current bucket array (retrying if the table grew meanwhile)
    /// and finds the key's node in it. Every write runs between this and <see cref="Release"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private LockedChain LockChain(TKey key)
    {
        var hash = Hash(key);
        while (true)
        {
            var buckets = _buckets;
            var lockIndex = hash & (buckets.Length - 1) & (LockCount - 1);
            var locked = EnterStripe(_locks, lockIndex);
            if (buckets == _buckets)
            {
                ref var head = ref buckets[hash & (buckets.Length - 1)];
                return new LockedChain(ref head, Find(head, key, hash), buckets, hash, lockIndex, locked);
            }

            if (locked)
            {
                _locks[lockIndex].Exit();
            }
        }
    }

    /// <summary>Releases a chain's stripe, then grows the table if an add outgrew the stripe's budget: growing takes
    /// every lock, so it never runs under one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Release(ref LockedChain chain)
    {
        if (chain.Locked)
        {
            _locks[chain.LockIndex].Exit();
        }

        if (chain.OutgrewBudget)
        {
            Grow(chain.Buckets);
        }
    }

    private void SetValue(ref LockedChain chain, TValue value)
    {
        var node = chain.Node!;
        if (s_valueWritesAreAtomic)
        {
            node.Value = value;
            return;
        }

        Replace(ref chain.Head, node, new Entry(node.Key, node.Hash, value, node.Next));
    }

    private static void Replace(ref Entry? head, Entry node, Entry? replacement)
    {
        if (head == node)
        {
            head = replacement;
            return;
        }

        var previous = head!;
        while (previous.Next != node)
        {
            previous = previous.Next!;
        }

        previous.Next = replacement;
    }

    /// <summary>Puts a key that is absent (or kept deleted for a fixed table) back into its chain, noting when the
    /// stripe outgrows its budget so that <see cref="Release"/> grows the table.</summary>
    private void Add(ref LockedChain chain, TKey key, TValue value)
    {
        if (chain.Node is { } deleted)
        {
            Revive(deleted, value, chain.LockIndex);
            return;
        }

        chain.Head = NewNode(key, chain.Hash, value, chain.Head);
        chain.OutgrewBudget = ++_counts[chain.LockIndex] > _budget;
    }

    private void Revive(Entry node, TValue value, int lockIndex)
    {
        node.Value = value;
        if (_isBag)
        {
            Bag(node).Values = [value];
        }

        Volatile.Write(ref node.Hash, node.Hash & int.MaxValue);
        _counts[lockIndex]++;
    }

    private void Remove(ref LockedChain chain, int objects)
    {
        var node = chain.Node!;
        _counts[chain.LockIndex] -= objects;
        if (_fixCount > 0)
        {
            MarkDeleted(node);
        }
        else
        {
            Replace(ref chain.Head, node, node.Next);
        }
    }

    /// <summary>A deleted node kept for a fixed table: its hash's sign bit marks it, so lookups never match it.</summary>
    private static void MarkDeleted(Entry node) => Volatile.Write(ref node.Hash, node.Hash | int.MinValue);

    private void PurgeDeleted()
    {
        var buckets = _buckets;
        for (var i = 0; i < buckets.Length; i++)
        {
            while (buckets[i] is { IsDeleted: true } deadHead)
            {
                buckets[i] = deadHead.Next;
            }

            for (var node = buckets[i]; node?.Next is not null;)
            {
                if (node.Next.IsDeleted)
                {
                    node.Next = node.Next.Next;
                }
                else
                {
                    node = node.Next;
                }
            }
        }
    }

    private void Grow(Entry?[] seen)
    {
        LockAllWriters();
        try
        {
            if (_buckets != seen || _fixCount > 0)
            {
                return;
            }

            var grown = new Entry?[seen.Length * 2];
            foreach (var head in seen)
            {
                for (var node = head; node is not null; node = node.Next)
                {
                    ref var slot = ref grown[node.Hash & (grown.Length - 1)];
                    slot = node is BagEntry bag ? new BagEntry(node.Key, node.Hash, node.Value, bag.Values, slot) : new Entry(node.Key, node.Hash, node.Value, slot);
                }
            }

            _budget = Math.Max(1, grown.Length / LockCount);
            _buckets = grown;
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TValue ReadFirst(Entry node) => s_valueWritesAreAtomic || !_isBag ? node.Value : Bag(node).Values[0];

    /// <summary>A bag node's Value mirrors its first value, so that a read of one value needs no array. Only a value
    /// that fits a machine word is mirrored safely in place; wider ones are read from the array.</summary>
    private static void SetBagValues(Entry node, TValue[] values)
    {
        Bag(node).Values = values;
        node.Value = values[0];
    }

    private static bool Contains(TValue[] values, TValue value)
    {
        foreach (var v in values)
        {
            if (EqualityComparer<TValue>.Default.Equals(v, value))
            {
                return true;
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static BagEntry Bag(Entry node) => Unsafe.As<BagEntry>(node);

    private Entry NewNode(TKey key, int hash, TValue value, Entry? next) =>
        _isBag ? new BagEntry(key, hash, value, [value], next) : new Entry(key, hash, value, next);

    /// <summary>An update given as a delegate, for the struct-generic path.</summary>
    private readonly struct DelegateUpdate<TState>(TState state, UpdateFunc<TKey, TValue, TState> update) : IValueUpdate<TKey, TValue>
    {
        public bool Apply(TKey key, bool found, TValue current, out TValue next) => update(key, found, current, state, out next);
    }

    /// <summary>A writer's hold on one key's chain: the stripe's lock is held, <see cref="Head"/> refers to the chain's
    /// slot in the bucket array the lock was taken for, and <see cref="Node"/> is the key's node (live, or kept deleted
    /// for a fixed table), or null when the chain lacks the key.</summary>
    private ref struct LockedChain(ref Entry? head, Entry? node, Entry?[] buckets, int hash, int lockIndex, bool locked)
    {
        public ref Entry? Head = ref head;
        public readonly Entry? Node = node;
        public readonly Entry?[] Buckets = buckets;
        public readonly int Hash = hash;
        public readonly int LockIndex = lockIndex;

        // False inside this thread's batch, which holds the stripe and frees it.
        public readonly bool Locked = locked;
        public bool OutgrewBudget;
    }

    /// <summary>A set's node: 48 bytes, as ConcurrentDictionary's. A negative hash marks it deleted (fixed tables only).</summary>
    private class Entry(TKey key, int hash, TValue value, Entry? next)
    {
        public readonly TKey Key = key;
        public int Hash = hash;
        public TValue Value = value;
        public volatile Entry? Next = next;

        public bool IsDeleted => Volatile.Read(ref Hash) < 0;
    }

    /// <summary>A bag's node: its values in insertion order, replaced whole on change; Value mirrors the first.</summary>
    private sealed class BagEntry(TKey key, int hash, TValue value, TValue[] values, Entry? next) : Entry(key, hash, value, next)
    {
        public volatile TValue[] Values = values;
    }
}
