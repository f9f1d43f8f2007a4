using System.Runtime.CompilerServices;

namespace Heirloom.Tables.Storage;

/// <summary>
/// Ordered-set storage: a skip list with one writer at a time and lock-free readers. A writer links a new node bottom
/// up and unlinks a deleted one top down, marking it first, so a reader walking the list always finds every key that
/// was present for the whole of its walk and never sees a key twice.
/// </summary>
internal sealed class SkipListStore<TKey, TValue> : TableStore<TKey, TValue>
    where TKey : notnull
{
    private const int MaxLevel = 24;

    private static readonly bool s_valueWritesAreAtomic =
        !typeof(TValue).IsValueType || (typeof(TValue).IsPrimitive && Unsafe.SizeOf<TValue>() <= IntPtr.Size);

    private readonly IComparer<TKey>? _comparer;
    private readonly Node _head = new(default!, default!, MaxLevel);
    private readonly Lock _writer = new();
    private readonly Node?[] _preds = new Node?[MaxLevel];
    private long _count;
    private int _level = 1;
    private uint _random = 2463534242;

    public SkipListStore(IComparer<TKey>? comparer) =>
        _comparer = comparer ?? (typeof(TKey).IsValueType ? null : Comparer<TKey>.Default);

    public override long Count => Volatile.Read(ref _count);

    public override int BytesPerObject => 80;

    public override bool IsFixed => false;

    public override bool TryGetValue(TKey key, out TValue value)
    {
        while (true)
        {
            var epoch = BatchEpoch;
            if ((epoch & 1) == 0)
            {
                var node = FindLive(key);
                value = node is null ? default! : node.Read();
                if (BatchEpoch == epoch)
                {
                    return node is not null;
                }
            }

            WaitForBatch();
        }
    }

    public override TValue[] Lookup(TKey key) => TryGetValue(key, out var value) ? [value] : [];

    public override bool ContainsKey(TKey key) => TryGetValue(key, out _);

    public override void Insert(TKey key, TValue value) => Update(key, value, static (TKey _, bool _, TValue _, TValue v, out TValue next) =>
    {
        next = v;
        return true;
    }, out _);

    public override bool InsertNew(TKey key, TValue value)
    {
        Update(key, value, static (TKey _, bool found, TValue _, TValue v, out TValue next) =>
        {
            next = v;
            return !found;
        }, out var found);
        return !found;
    }

    public override TValue[] Take(TKey key)
    {
        lock (_writer)
        {
            var preds = _preds;
            var node = FindForWrite(key, preds);
            if (node is null)
            {
                return [];
            }

            Unlink(node, preds);
            return [node.Read()];
        }
    }

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override bool DeleteObject(TKey key, TValue value)
    {
        lock (_writer)
        {
            var preds = _preds;
            var node = FindForWrite(key, preds);
            if (node is null || !EqualityComparer<TValue>.Default.Equals(node.Read(), value))
            {
                return false;
            }

            Unlink(node, preds);
            return true;
        }
    }

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        lock (_writer)
        {
            var preds = _preds;
            var node = FindForWrite(key, preds);
            if (node is null || !match(key, node.Read(), state))
            {
                return 0;
            }

            Unlink(node, preds);
            return 1;
        }
    }

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        lock (_writer)
        {
            var node = FindLive(key);
            if (node is null || !where(key, node.Read()))
            {
                return 0;
            }

            node.Write(replace(key, node.Read()));
            return 1;
        }
    }

    public override bool ContainsKeyInBatch(TKey key) => FindLive(key) is not null;

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        lock (_writer)
        {
            var preds = _preds;
            var node = FindForWrite(key, preds);
            found = node is not null;
            var current = found ? node!.Read() : default!;
            if (!update(key, found, current, state, out var next))
            {
                return current;
            }

            if (node is null)
            {
                Link(key, next, preds);
            }
            else
            {
                node.Write(next);
            }

            return next;
        }
    }

    public override void Clear()
    {
        lock (_writer)
        {
            for (var level = 0; level < MaxLevel; level++)
            {
                for (var node = _head.Next[level]; node is not null; node = node.Next[level])
                {
                    node.Deleted = true;
                }

                _head.Next[level] = null;
            }

            _level = 1;
            Volatile.Write(ref _count, 0);
        }
    }

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse)
    {
        if (!reverse)
        {
            for (var node = _head.Next[0]; node is not null; node = node.Next[0])
            {
                if (!node.Deleted)
                {
                    yield return new(node.Key, node.Read());
                }
            }

            yield break;
        }

        // Backwards, each step is a search for the greatest key below the last one: O(log n) a step, and a key
        // inserted behind the walk is not visited.
        for (var node = Last(); node is not null; node = Before(node.Key))
        {
            yield return new(node.Key, node.Read());
        }
    }

    /// <summary>The objects with keys from <paramref name="from"/> to <paramref name="to"/>, inclusive, in order.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to)
    {
        for (var node = AtOrAfter(from); node is not null && Compare(node.Key, to) <= 0; node = node.Next[0])
        {
            if (!node.Deleted)
            {
                yield return new(node.Key, node.Read());
            }
        }
    }

    public override bool TryFirst(out TKey key) => Found(AtOrAfterFirst(), out key);

    public override bool TryLast(out TKey key) => Found(Last(), out key);

    public override bool TryNext(TKey key, out TKey next) => Found(After(key), out next);

    public override bool TryPrevious(TKey key, out TKey previous) => Found(Before(key), out previous);

    // An ordered set needs no fixing: next/previous accept any key, present or not, as in ETS.
    public override void Fix()
    {
    }

    public override void Unfix()
    {
    }

    protected override void LockAllWriters() => _writer.Enter();

    protected override void UnlockAllWriters() => _writer.Exit();

    private static bool Found(Node? node, out TKey key)
    {
        key = node is null ? default! : node.Key;
        return node is not null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Compare(TKey a, TKey b) =>
        typeof(TKey).IsValueType && _comparer is null ? Comparer<TKey>.Default.Compare(a, b) : _comparer!.Compare(a, b);

    private Node? FindLive(TKey key)
    {
        var node = _head;
        for (var level = Volatile.Read(ref _level) - 1; level >= 0; level--)
        {
            for (var next = node.Next[level]; next is not null; next = node.Next[level])
            {
                var order = Compare(next.Key, key);
                if (order > 0)
                {
                    break;
                }

                if (order == 0)
                {
                    return next.Deleted ? null : next;
                }

                node = next;
            }
        }

        return null;
    }

    /// <summary>The first live node with a key at or after <paramref name="key"/>.</summary>
    private Node? AtOrAfter(TKey key)
    {
        var node = _head;
        for (var level = Volatile.Read(ref _level) - 1; level >= 0; level--)
        {
            for (var next = node.Next[level]; next is not null && Compare(next.Key, key) < 0; next = node.Next[level])
            {
                node = next;
            }
        }

        // A writer may have linked a smaller key after the node since the loop compared: compare again.
        var candidate = node.Next[0];
        while (candidate is not null && (candidate.Deleted || Compare(candidate.Key, key) < 0))
        {
            candidate = candidate.Next[0];
        }

        return candidate;
    }

    private Node? AtOrAfterFirst() => SkipDeleted(_head.Next[0]);

    private Node? After(TKey key)
    {
        var node = AtOrAfter(key);
        return node is not null && Compare(node.Key, key) == 0 ? SkipDeleted(node.Next[0]) : node;
    }

    /// <summary>The last live node with a key before <paramref name="key"/>.</summary>
    private Node? Before(TKey key)
    {
        while (true)
        {
            var node = _head;
            for (var level = Volatile.Read(ref _level) - 1; level >= 0; level--)
            {
                for (var next = node.Next[level]; next is not null && Compare(next.Key, key) < 0; next = node.Next[level])
                {
                    node = next;
                }
            }

            if (node == _head)
            {
                return null;
            }

            if (!node.Deleted)
            {
                return node;
            }

            key = node.Key;
        }
    }

    private Node? Last()
    {
        while (true)
        {
            var node = _head;
            for (var level = Volatile.Read(ref _level) - 1; level >= 0; level--)
            {
                for (var next = node.Next[level]; next is not null; next = node.Next[level])
                {
                    node = next;
                }
            }

            if (node == _head)
            {
                return null;
            }

            return node.Deleted ? Before(node.Key) : node;
        }
    }

    private static Node? SkipDeleted(Node? node)
    {
        while (node is { Deleted: true })
        {
            node = node.Next[0];
        }

        return node;
    }

    /// <summary>Writer only: the node with the key, if any, and the last node before it at every level.</summary>
    private Node? FindForWrite(TKey key, Span<Node?> preds)
    {
        var node = _head;
        for (var level = MaxLevel - 1; level >= 0; level--)
        {
            for (var next = node.Next[level]; next is not null && Compare(next.Key, key) < 0; next = node.Next[level])
            {
                node = next;
            }

            preds[level] = node;
        }

        var candidate = node.Next[0];
        return candidate is not null && Compare(candidate.Key, key) == 0 ? candidate : null;
    }

    private void Link(TKey key, TValue value, Span<Node?> preds)
    {
        var height = RandomHeight();
        var node = new Node(key, value, height);
        for (var level = 0; level < height; level++)
        {
            node.Next[level] = preds[level]!.Next[level];
        }

        // Bottom up: once a node is reachable at level 0 it is in the table; upper levels only speed searches.
        for (var level = 0; level < height; level++)
        {
            Volatile.Write(ref preds[level]!.Next[level], node);
        }

        if (height > _level)
        {
            Volatile.Write(ref _level, height);
        }

        Interlocked.Increment(ref _count);
    }

    private void Unlink(Node node, Span<Node?> preds)
    {
        node.Deleted = true;
        for (var level = node.Next.Length - 1; level >= 0; level--)
        {
            if (preds[level]!.Next[level] == node)
            {
                Volatile.Write(ref preds[level]!.Next[level], node.Next[level]);
            }
        }

        Interlocked.Decrement(ref _count);
    }

    private int RandomHeight()
    {
        // xorshift32; one level in four goes up, as Redis's and LevelDB's skip lists do.
        var x = _random;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _random = x;
        var height = 1;
        while (height < MaxLevel && (x & 3) == 0)
        {
            height++;
            x >>= 2;
        }

        return height;
    }

    private sealed class Node
    {
        public readonly TKey Key;
        public readonly Node?[] Next;
        public volatile bool Deleted;

        // A value that cannot be written in one machine word lives in an immutable box that is swapped whole, so a
        // lock-free reader never sees it torn.
        private TValue _value;
        private Box? _box;

        public Node(TKey key, TValue value, int height)
        {
            Key = key;
            Next = new Node?[height];
            _value = default!;
            Write(value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TValue Read() => s_valueWritesAreAtomic ? _value : Volatile.Read(ref _box)!.Value;

        public void Write(TValue value)
        {
            if (s_valueWritesAreAtomic)
            {
                _value = value;
            }
            else
            {
                Volatile.Write(ref _box, new Box(value));
            }
        }

        private sealed class Box(TValue value)
        {
            public readonly TValue Value = value;
        }
    }
}
