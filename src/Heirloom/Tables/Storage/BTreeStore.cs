using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Heirloom.Tables.Storage;

/// <summary>
/// Ordered-set storage: a B-link tree (Lehman and Yao) with one writer at a time and lock-free readers.
/// Nodes hold up to <see cref="Capacity"/> sorted keys; every node knows its high key and its right sibling, so a
/// reader that reached a node just split moves right instead of missing keys. A writer changes a node in place between
/// two increments of the node's version; a reader reads the version, searches, and reads the version again, retrying
/// when it moved. Leaves are linked both ways for traversal. Emptied leaves are not merged.
/// </summary>
internal sealed class BTreeStore<TKey, TValue> : TableStore<TKey, TValue>
    where TKey : notnull
{
    private const int Capacity = 64;

    // On x86/x64 loads are not reordered with loads, so reading a node's version after its data needs no fence.
    private static readonly bool s_needsReadFence = RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.X86);

    private readonly IComparer<TKey>? _comparer;
    private readonly Lock _writer = new();
    private readonly TreeNode[] _path = new TreeNode[32];
    private volatile TreeNode _root;
    private long _count;

    // Finger search: the writer's last path, and each thread's last leaf read, serve the next access when its key
    // falls in the same leaf, which keys arriving in order or close together usually do. A leaf's range is
    // [first key, high key); a hint is only used after checking that, and never after Clear (a new generation).
    private int _pathDepth = -1;
    private TreeNode? _pathRoot;
    private int _generation;

    [ThreadStatic]
    private static LeafHint? t_hint;

    public BTreeStore(IComparer<TKey>? comparer)
    {
        _comparer = comparer ?? (typeof(TKey).IsValueType ? null : Comparer<TKey>.Default);
        _root = new TreeNode(leaf: true);
    }

    public override long Count => Volatile.Read(ref _count);

    public override int BytesPerObject => 40;

    public override bool IsFixed => false;

    public override StoreCapabilities Capabilities => StoreCapabilities.Ordered;

    public override bool TryGetValue(TKey key, out TValue value)
    {
        while (true)
        {
            var epoch = BatchEpoch;
            if ((epoch & 1) == 0)
            {
                var found = Find(key, out value);
                if (BatchEpoch == epoch)
                {
                    return found;
                }
            }

            WaitForBatch();
        }
    }

    public override TValue[] Lookup(TKey key) => TryGetValue(key, out var value) ? [value] : [];

    public override bool ContainsKey(TKey key) => TryGetValue(key, out _);

    public override bool ContainsKeyInBatch(TKey key) => Find(key, out _);

    public override TValue[] LookupInBatch(TKey key) => Find(key, out var value) ? [value] : [];

    public override void Insert(TKey key, TValue value)
    {
        lock (_writer)
        {
            var depth = DescendForWrite(key);
            var index = Search(_path[depth], key, out var found);
            Put(depth, index, found, key, value);
        }
    }

    public override bool InsertNew(TKey key, TValue value)
    {
        Update(key, value, static (TKey _, bool found, TValue _, TValue v, out TValue next) =>
        {
            next = v;
            return !found;
        }, out var found);
        return !found;
    }

    public override TValue Update<TState>(TKey key, TState state, UpdateFunc<TKey, TValue, TState> update, out bool found)
    {
        lock (_writer)
        {
            var depth = DescendForWrite(key);
            var leaf = _path[depth];
            var index = Search(leaf, key, out found);
            var current = found ? leaf.Values![index] : default!;
            if (!update(key, found, current, state, out var next))
            {
                return current;
            }

            Put(depth, index, found, key, next);
            return next;
        }
    }

    /// <summary>Writer only: the leaf for the key, from the last path when the key falls in its leaf (finger search).</summary>
    private int DescendForWrite(TKey key) =>
        _pathDepth >= 0 && _pathRoot == _root && InRange(_path[_pathDepth], key) ? _pathDepth : Descend(key);

    /// <summary>Writer only: stores the object at its place in the leaf at <paramref name="depth"/>.</summary>
    private void Put(int depth, int index, bool found, TKey key, TValue value)
    {
        if (!found)
        {
            InsertIntoLeaf(depth, index, key, value);
            Volatile.Write(ref _count, _count + 1);
            return;
        }

        // The whole object is replaced, key included, as ETS's ordered_set does for keys that compare equal.
        var leaf = _path[depth];
        BeginWrite(leaf);
        leaf.Keys[index] = key;
        leaf.Values![index] = value;
        EndWrite(leaf);
    }

    public override TValue[] Take(TKey key)
    {
        lock (_writer)
        {
            var leaf = _path[Descend(key)];
            var index = Search(leaf, key, out var found);
            if (!found)
            {
                return [];
            }

            var value = leaf.Values![index];
            RemoveAt(leaf, index);
            return [value];
        }
    }

    public override bool Delete(TKey key) => Take(key).Length > 0;

    public override int DeleteWhere<TState>(TKey key, TState state, Func<TKey, TValue, TState, bool> match)
    {
        lock (_writer)
        {
            var leaf = _path[Descend(key)];
            var index = Search(leaf, key, out var found);
            if (!found || !match(key, leaf.Values![index], state))
            {
                return 0;
            }

            RemoveAt(leaf, index);
            return 1;
        }
    }

    public override int ReplaceWhere(TKey key, Func<TKey, TValue, bool> where, Func<TKey, TValue, TValue> replace)
    {
        lock (_writer)
        {
            var leaf = _path[Descend(key)];
            var index = Search(leaf, key, out var found);
            if (!found || !where(key, leaf.Values![index]))
            {
                return 0;
            }

            var next = replace(key, leaf.Values![index]);
            BeginWrite(leaf);
            leaf.Values![index] = next;
            EndWrite(leaf);
            return 1;
        }
    }

    public override void Clear()
    {
        lock (_writer)
        {
            // Readers holding old nodes finish on the old tree, which is never changed again.
            _root = new TreeNode(leaf: true);
            _pathDepth = -1;
            Volatile.Write(ref _generation, _generation + 1);
            Volatile.Write(ref _count, 0);
        }
    }

    public override IEnumerable<KeyValuePair<TKey, TValue>> Enumerate(bool reverse) =>
        reverse ? EnumerateBackwards(null, null) : EnumerateForwards(null, null);

    /// <summary>The objects with keys from <paramref name="from"/> to <paramref name="to"/>, inclusive, in order.</summary>
    public override IEnumerable<KeyValuePair<TKey, TValue>> Range(TKey from, TKey to) => EnumerateForwards(new StrongBox<TKey>(from), new StrongBox<TKey>(to));

    public override bool TryFirst(out TKey key) => FirstFrom(LeftmostLeaf(), null, out key);

    public override bool TryLast(out TKey key)
    {
        foreach (var (k, _) in EnumerateBackwards(null, null))
        {
            key = k;
            return true;
        }

        key = default!;
        return false;
    }

    public override bool TryNext(TKey key, out TKey next) => FirstFrom(LeafFor(key), new StrongBox<TKey>(key), out next);

    public override bool TryPrevious(TKey key, out TKey previous)
    {
        foreach (var (k, _) in EnumerateBackwards(null, new StrongBox<TKey>(key), exclusive: true))
        {
            previous = k;
            return true;
        }

        previous = default!;
        return false;
    }

    // An ordered set needs no fixing: next/previous accept any key, present or not, as in ETS.
    public override void Fix()
    {
    }

    public override void Unfix()
    {
    }

    protected override void LockAllWriters() => _writer.Enter();

    protected override void UnlockAllWriters() => _writer.Exit();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Compare(TKey a, TKey b) =>
        typeof(TKey).IsValueType && _comparer is null ? Comparer<TKey>.Default.Compare(a, b) : _comparer!.Compare(a, b);

    /// <summary>Index of the first key not less than <paramref name="key"/> among the node's first <paramref name="count"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int LowerBound(TKey[] keys, int count, TKey key)
    {
        if (typeof(TKey) == typeof(long) && _comparer is null && Vector256.IsHardwareAccelerated)
        {
            return LowerBoundInt64(Unsafe.As<long[]>(keys), count, Unsafe.As<TKey, long>(ref key));
        }

        int low = 0, high = count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (Compare(keys[middle], key) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    /// <summary>
    /// Lower bound for long keys, by counting the keys below <paramref name="key"/> with vector compares. Its loads do
    /// not depend on one another, so a node's cache lines are fetched together; a binary search waits for each probe's
    /// line in turn, and in a tree larger than the cache those waits are most of an insert.
    /// </summary>
    private static int LowerBoundInt64(long[] keys, int count, long key)
    {
        ref var first = ref MemoryMarshal.GetArrayDataReference(keys);
        var below = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var target = Vector512.Create(key);
            for (; i + Vector512<long>.Count <= count; i += Vector512<long>.Count)
            {
                below += BitOperations.PopCount(Vector512.LessThan(Vector512.LoadUnsafe(ref first, (nuint)i), target).ExtractMostSignificantBits());
            }
        }

        var target256 = Vector256.Create(key);
        for (; i + Vector256<long>.Count <= count; i += Vector256<long>.Count)
        {
            below += BitOperations.PopCount(Vector256.LessThan(Vector256.LoadUnsafe(ref first, (nuint)i), target256).ExtractMostSignificantBits());
        }

        for (; i < count; i++)
        {
            below += Unsafe.Add(ref first, i) < key ? 1 : 0;
        }

        return below;
    }

    /// <summary>Which child of an inner node holds <paramref name="key"/>: separator i is the first key of child i + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ChildIndex(TreeNode node, int count, TKey key)
    {
        var index = LowerBound(node.Keys, count, key);
        return index < count && Compare(node.Keys[index], key) == 0 ? index + 1 : index;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool BeyondHigh(TreeNode node, TKey key) => node.HasHigh && Compare(key, node.High) >= 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int StableVersion(TreeNode node)
    {
        var version = Volatile.Read(ref node.Version);
        return (version & 1) == 0 ? version : WaitForStableVersion(node);
    }

    /// <summary>A writer is changing the node: spin (writers hold a node for a few hundred nanoseconds at most).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int WaitForStableVersion(TreeNode node)
    {
        var spinner = default(SpinWait);
        while (true)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            var version = Volatile.Read(ref node.Version);
            if ((version & 1) == 0)
            {
                return version;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Unchanged(TreeNode node, int version)
    {
        if (s_needsReadFence)
        {
            Interlocked.MemoryBarrier();
        }

        return Volatile.Read(ref node.Version) == version;
    }

    /// <summary>The leaf whose range holds <paramref name="key"/>, found without locks.</summary>
    private TreeNode LeafFor(TKey key)
    {
        var node = _root;
        while (true)
        {
            var version = StableVersion(node);
            TreeNode? next;
            if (typeof(TKey).IsValueType && _comparer is null)
            {
                next = Step(node, key);
            }
            else
            {
                try
                {
                    next = Step(node, key);
                }
                catch (Exception) when (!Unchanged(node, version))
                {
                    // A comparer that met a key being moved: the node changed, so go round again.
                    continue;
                }
            }

            if (!Unchanged(node, version))
            {
                continue;
            }

            if (next is null)
            {
                return node;
            }

            node = next;
        }
    }

    /// <summary>Where a search for <paramref name="key"/> goes from a node: right past its high key, down to a child,
    /// or nowhere (null) at the leaf that holds the key's range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TreeNode? Step(TreeNode node, TKey key) =>
        BeyondHigh(node, key) ? node.Right : node.IsLeaf ? null : node.Children![ChildIndex(node, node.Count, key)];

    private bool Find(TKey key, out TValue value)
    {
        var hint = t_hint;
        var leaf = hint is not null && hint.Store == this && hint.Generation == Volatile.Read(ref _generation) && InRangeRead(hint.Leaf, key)
            ? hint.Leaf
            : LeafFor(key);
        while (true)
        {
            var version = StableVersion(leaf);
            if (BeyondHigh(leaf, key))
            {
                var right = leaf.Right;
                if (Unchanged(leaf, version))
                {
                    leaf = right!;
                }

                continue;
            }

            var count = leaf.Count;
            var index = LowerBound(leaf.Keys, count, key);
            var found = index < count && Compare(leaf.Keys[index], key) == 0;
            value = found ? leaf.Values![index] : default!;
            if (Unchanged(leaf, version))
            {
                Remember(leaf);
                return found;
            }
        }
    }

    /// <summary>Writer only: whether the key falls in the leaf's range, judged by its first key and high key.</summary>
    private bool InRange(TreeNode leaf, TKey key) => leaf.Count > 0 && Compare(key, leaf.Keys[0]) >= 0 && !BeyondHigh(leaf, key);

    /// <summary>Reader: <see cref="InRange"/> checked against a concurrent writer.</summary>
    private bool InRangeRead(TreeNode leaf, TKey key)
    {
        if (!typeof(TKey).IsValueType || _comparer is not null)
        {
            return false; // a custom comparer could throw on a key being moved; take the full search
        }

        var version = StableVersion(leaf);
        var inRange = leaf.Count > 0 && Compare(key, leaf.Keys[0]) >= 0 && !BeyondHigh(leaf, key);
        return Unchanged(leaf, version) && inRange;
    }

    private void Remember(TreeNode leaf)
    {
        var hint = t_hint ??= new LeafHint();
        hint.Store = this;
        hint.Leaf = leaf;
        hint.Generation = Volatile.Read(ref _generation);
    }

    /// <summary>A consistent copy of a leaf's objects and links.</summary>
    private static LeafSnapshot Snapshot(TreeNode leaf)
    {
        while (true)
        {
            var version = StableVersion(leaf);
            var count = leaf.Count;
            var keys = leaf.Keys.AsSpan(0, Math.Min(count, leaf.Keys.Length)).ToArray();
            var values = leaf.Values!.AsSpan(0, keys.Length).ToArray();
            var right = leaf.Right;
            var left = leaf.Left;
            var (hasHigh, high) = (leaf.HasHigh, leaf.High);
            if (Unchanged(leaf, version))
            {
                return new LeafSnapshot(keys, values, left, right, hasHigh, high);
            }
        }
    }

    private TreeNode LeftmostLeaf()
    {
        var node = _root;
        while (!node.IsLeaf)
        {
            var version = StableVersion(node);
            var child = node.Children![0];
            if (Unchanged(node, version))
            {
                node = child;
            }
        }

        return node;
    }

    private bool FirstFrom(TreeNode leaf, StrongBox<TKey>? after, out TKey key)
    {
        foreach (var (k, _) in EnumerateForwardsFrom(leaf, after, null, exclusiveLow: true))
        {
            key = k;
            return true;
        }

        key = default!;
        return false;
    }

    private IEnumerable<KeyValuePair<TKey, TValue>> EnumerateForwards(StrongBox<TKey>? low, StrongBox<TKey>? high) =>
        EnumerateForwardsFrom(low is null ? LeftmostLeaf() : LeafFor(low.Value!), low, high, exclusiveLow: false);

    /// <summary>Walks leaves rightwards. Keys only grow, so skipping keys not above the last one yielded makes a split
    /// behind the walk harmless: nothing is visited twice.</summary>
    private IEnumerable<KeyValuePair<TKey, TValue>> EnumerateForwardsFrom(TreeNode? leaf, StrongBox<TKey>? low, StrongBox<TKey>? high, bool exclusiveLow)
    {
        var haveLast = low is not null;
        var last = low is null ? default! : low.Value!;
        var inclusive = !exclusiveLow;
        for (; leaf is not null;)
        {
            var snapshot = Snapshot(leaf);
            for (var i = 0; i < snapshot.Keys.Length; i++)
            {
                var key = snapshot.Keys[i];
                if (haveLast && (inclusive ? Compare(key, last) < 0 : Compare(key, last) <= 0))
                {
                    continue;
                }

                if (high is not null && Compare(key, high.Value!) > 0)
                {
                    yield break;
                }

                inclusive = false;
                haveLast = true;
                last = key;
                yield return new(key, snapshot.Values[i]);
            }

            leaf = snapshot.Right;
        }
    }

    /// <summary>Walks leaves leftwards from the leaf of <paramref name="high"/> (or the last leaf), keys only falling.</summary>
    private IEnumerable<KeyValuePair<TKey, TValue>> EnumerateBackwards(StrongBox<TKey>? low, StrongBox<TKey>? high, bool exclusive = false)
    {
        var leaf = high is null ? RightmostLeaf() : LeafFor(high.Value!);
        var snapshot = Snapshot(leaf);

        // The leaf found may have split before its snapshot, its upper keys gone to a new right sibling: the walk
        // starts from the leaf whose range holds the high end.
        while (snapshot.Right is { } right && (high is null || (snapshot.HasHigh && Compare(high.Value!, snapshot.High) >= 0)))
        {
            (leaf, snapshot) = (right, Snapshot(right));
        }

        var haveLast = high is not null;
        var last = high is null ? default! : high.Value!;
        var inclusive = !exclusive;
        while (true)
        {
            for (var i = snapshot.Keys.Length - 1; i >= 0; i--)
            {
                var key = snapshot.Keys[i];
                if (haveLast && (inclusive ? Compare(key, last) > 0 : Compare(key, last) >= 0))
                {
                    continue;
                }

                if (low is not null && Compare(key, low.Value!) < 0)
                {
                    yield break;
                }

                inclusive = false;
                haveLast = true;
                last = key;
                yield return new(key, snapshot.Values[i]);
            }

            if (!TryLeftNeighbour(snapshot.Left, leaf, out leaf, out snapshot))
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// The leaf immediately left of <paramref name="of"/>, with a snapshot of it taken while it was: a left link read
    /// before a split of the left neighbour points one node too far left, and the neighbour may split again after it
    /// is found, its upper keys moving to a new leaf in between. So the snapshot used is one whose right link is
    /// <paramref name="of"/>, walking right until it is.
    /// </summary>
    private static bool TryLeftNeighbour(TreeNode? candidate, TreeNode of, out TreeNode leaf, out LeafSnapshot snapshot)
    {
        while (candidate is not null)
        {
            var candidateSnapshot = Snapshot(candidate);
            if (candidateSnapshot.Right is null || candidateSnapshot.Right == of)
            {
                (leaf, snapshot) = (candidate, candidateSnapshot);
                return true;
            }

            candidate = candidateSnapshot.Right;
        }

        (leaf, snapshot) = (null!, default);
        return false;
    }

    private TreeNode RightmostLeaf()
    {
        var node = _root;
        while (true)
        {
            var version = StableVersion(node);
            var next = node.Right ?? (node.IsLeaf ? null : node.Children![node.Count]);
            if (!Unchanged(node, version))
            {
                continue;
            }

            if (next is null)
            {
                return node;
            }

            node = next;
        }
    }

    // ---- Writer side: only under _writer. ----

    /// <summary>Descends to the leaf for <paramref name="key"/>, recording the path; returns the leaf's depth.</summary>
    private int Descend(TKey key)
    {
        var depth = 0;
        var node = _root;
        while (true)
        {
            while (BeyondHigh(node, key))
            {
                node = node.Right!;
            }

            _path[depth] = node;
            if (node.IsLeaf)
            {
                _pathDepth = depth;
                _pathRoot = _root;
                return depth;
            }

            node = node.Children![ChildIndex(node, node.Count, key)];
            depth++;
        }
    }

    private int Search(TreeNode leaf, TKey key, out bool found)
    {
        var index = LowerBound(leaf.Keys, leaf.Count, key);
        found = index < leaf.Count && Compare(leaf.Keys[index], key) == 0;
        return index;
    }

    private static void BeginWrite(TreeNode node) => Volatile.Write(ref node.Version, node.Version + 1);

    private static void EndWrite(TreeNode node) => Volatile.Write(ref node.Version, node.Version + 1);

    private void RemoveAt(TreeNode leaf, int index)
    {
        Volatile.Write(ref _count, _count - 1);
        BeginWrite(leaf);
        var count = leaf.Count;
        Array.Copy(leaf.Keys, index + 1, leaf.Keys, index, count - index - 1);
        Array.Copy(leaf.Values!, index + 1, leaf.Values!, index, count - index - 1);
        leaf.Keys[count - 1] = default!;
        leaf.Values![count - 1] = default!;
        leaf.Count = count - 1;
        EndWrite(leaf);
    }

    private void InsertIntoLeaf(int depth, int index, TKey key, TValue value)
    {
        var leaf = _path[depth];
        if (leaf.Count < Capacity)
        {
            BeginWrite(leaf);
            InsertAt(leaf, index, key, value, null);
            EndWrite(leaf);
            return;
        }

        // Appending past the last leaf (keys arriving in order) leaves it full and starts a new one; otherwise halve.
        var appending = leaf.Right is null && index == leaf.Count;
        var split = appending ? Capacity : Capacity / 2;
        var right = new TreeNode(leaf: true);
        MoveUpperPart(leaf, right, split);
        right.Left = leaf;
        var intoLeft = !appending && index <= split;
        if (!intoLeft)
        {
            InsertAt(right, index - split, key, value, null);
        }

        // One versioned step makes the split visible: the leaf keeps its lower part and leads to the new one.
        BeginWrite(leaf);
        Truncate(leaf, split);
        if (intoLeft)
        {
            InsertAt(leaf, index, key, value, null);
        }

        LinkRight(leaf, right);
        EndWrite(leaf);
        if (right.Right is { } after)
        {
            BeginWrite(after);
            after.Left = right;
            EndWrite(after);
        }

        InsertIntoParent(depth, leaf, right.Keys[0], right);
    }

    /// <summary>Copies keys from <paramref name="split"/> on into the unpublished <paramref name="right"/> node,
    /// which takes over the node's high key and right link.</summary>
    private static void MoveUpperPart(TreeNode node, TreeNode right, int split)
    {
        var moved = node.Count - split;
        Array.Copy(node.Keys, split, right.Keys, 0, moved);
        if (node.IsLeaf)
        {
            Array.Copy(node.Values!, split, right.Values!, 0, moved);
        }

        right.Count = moved;
        right.Right = node.Right;
        right.HasHigh = node.HasHigh;
        right.High = node.High;
    }

    private static void LinkRight(TreeNode node, TreeNode right)
    {
        node.High = right.Keys[0];
        node.HasHigh = true;
        node.Right = right;
    }

    /// <summary>Keeps the first <paramref name="keep"/> keys, clearing the rest so nothing stays reachable.</summary>
    private static void Truncate(TreeNode node, int keep)
    {
        for (var i = keep; i < node.Count; i++)
        {
            node.Keys[i] = default!;
            if (node.IsLeaf)
            {
                node.Values![i] = default!;
            }
            else
            {
                node.Children![i + 1] = null!;
            }
        }

        node.Count = keep;
    }

    private static void InsertAt(TreeNode node, int index, TKey key, TValue value, TreeNode? child)
    {
        var count = node.Count;
        Array.Copy(node.Keys, index, node.Keys, index + 1, count - index);
        node.Keys[index] = key;
        if (node.IsLeaf)
        {
            Array.Copy(node.Values!, index, node.Values!, index + 1, count - index);
            node.Values![index] = value;
        }
        else
        {
            Array.Copy(node.Children!, index + 1, node.Children!, index + 2, count - index);
            node.Children![index + 1] = child!;
        }

        node.Count = count + 1;
    }

    /// <summary>Adds separator <paramref name="separator"/> leading to <paramref name="right"/> in the parent of the
    /// node at <paramref name="depth"/>, splitting upwards as needed and growing a new root at the top.</summary>
    private void InsertIntoParent(int depth, TreeNode left, TKey separator, TreeNode right)
    {
        if (depth == 0)
        {
            var root = new TreeNode(leaf: false);
            root.Keys[0] = separator;
            root.Children![0] = left;
            root.Children[1] = right;
            root.Count = 1;
            _root = root;
            return;
        }

        var parent = _path[depth - 1];
        while (BeyondHigh(parent, separator))
        {
            parent = parent.Right!;
        }

        var index = LowerBound(parent.Keys, parent.Count, separator);
        if (parent.Count < Capacity)
        {
            BeginWrite(parent);
            InsertAt(parent, index, separator, default!, right);
            EndWrite(parent);
            return;
        }

        // Split the inner node: the middle key moves up; the new right node takes the keys and children above it.
        var middle = Capacity / 2;
        var up = parent.Keys[middle];
        var sibling = new TreeNode(leaf: false);
        var moved = parent.Count - middle - 1;
        Array.Copy(parent.Keys, middle + 1, sibling.Keys, 0, moved);
        Array.Copy(parent.Children!, middle + 1, sibling.Children!, 0, moved + 1);
        sibling.Count = moved;
        sibling.Right = parent.Right;
        sibling.HasHigh = parent.HasHigh;
        sibling.High = parent.High;
        var intoLeft = Compare(separator, up) < 0;
        if (!intoLeft)
        {
            InsertAt(sibling, LowerBound(sibling.Keys, sibling.Count, separator), separator, default!, right);
        }

        BeginWrite(parent);
        Truncate(parent, middle);
        if (intoLeft)
        {
            InsertAt(parent, index, separator, default!, right);
        }

        parent.High = up;
        parent.HasHigh = true;
        parent.Right = sibling;
        EndWrite(parent);
        InsertIntoParent(depth - 1, parent, up, sibling);
    }

    /// <summary>A thread's last leaf read, per store.</summary>
    private sealed class LeafHint
    {
        public BTreeStore<TKey, TValue>? Store;
        public TreeNode Leaf = null!;
        public int Generation;
    }

    private readonly record struct LeafSnapshot(TKey[] Keys, TValue[] Values, TreeNode? Left, TreeNode? Right, bool HasHigh, TKey High);

    private sealed class TreeNode
    {
        public readonly TKey[] Keys = new TKey[Capacity];
        public readonly TValue[]? Values;
        public readonly TreeNode[]? Children;
        public readonly bool IsLeaf;
        public int Version;
        public int Count;
        public bool HasHigh;
        public TKey High = default!;
        public TreeNode? Right;
        public TreeNode? Left;

        public TreeNode(bool leaf)
        {
            IsLeaf = leaf;
            if (leaf)
            {
                Values = new TValue[Capacity];
            }
            else
            {
                Children = new TreeNode[Capacity + 1];
            }
        }
    }
}
