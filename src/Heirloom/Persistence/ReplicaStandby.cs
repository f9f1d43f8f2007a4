using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A replicated table's copy kept up to date from its replica on a node that does not own it (a warm standby), ready
/// to become the table: <see cref="Promote"/> makes a <see cref="ReplicatedTable"/> of it without copying, so taking
/// over does not take longer for a larger table. The replica's follower applies what others committed, one key's whole
/// state at a time; calls must not overlap (one follower loop applies them). <see cref="Lookup"/> may run on any thread
/// meanwhile: each key's new state replaces its old one atomically, so a reader sees one or the other.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <param name="type">The table's type.</param>
/// <param name="keyCodec">How keys are encoded in the replica; default the built-in codec.</param>
/// <param name="valueCodec">How values are encoded in the replica; default the built-in codec.</param>
public sealed class ReplicaStandby<TKey, TValue>(TableType type, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
    where TKey : notnull
{
    private readonly TableStore<TKey, TValue> _store = Table<TKey, TValue>.NewEngine(type, null, null);
    private readonly ICodec<TKey> _keyCodec = keyCodec ?? Codecs.For<TKey>();
    private readonly ICodec<TValue> _valueCodec = valueCodec ?? Codecs.For<TValue>();
    private bool _promoted;

    /// <summary>The table's type.</summary>
    public TableType Type => type;

    /// <summary>How many objects it holds.</summary>
    public long Count => _store.Count;

    /// <summary>Whether it became a table.</summary>
    public bool IsPromoted => Volatile.Read(ref _promoted);

    /// <summary>Sets a key to exactly the values an entry lists (none: the key is gone), or empties the copy for an
    /// entry without a key.</summary>
    /// <param name="entry">A key's state as codec bytes.</param>
    /// <exception cref="InvalidOperationException">The standby was promoted: the table's own writes are what count now.</exception>
    public void Apply(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (IsPromoted)
        {
            throw new InvalidOperationException("The standby was promoted to a table; it takes no more changes from its replica.");
        }

        if (entry.Key is null)
        {
            _store.Clear();
            return;
        }

        var key = _keyCodec.Read(entry.Key);
        var values = new TValue[entry.Values.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = _valueCodec.Read(entry.Values[i]);
        }

        Set(key, values);
    }

    /// <summary>Sets a key to exactly the values of its state as a journal record's payload frames them (what
    /// <see cref="IJournalPayloadReader.KeyState"/> receives), decoding them once.</summary>
    /// <param name="key">The key's codec bytes.</param>
    /// <param name="values">Its values, each value's codec bytes behind their length (4 bytes, little-endian); empty
    /// when the key is gone.</param>
    /// <exception cref="InvalidDataException">The values are cut short or their lengths do not add up.</exception>
    /// <exception cref="InvalidOperationException">The standby was promoted.</exception>
    public void Apply(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values)
    {
        if (IsPromoted)
        {
            throw new InvalidOperationException("The standby was promoted to a table; it takes no more changes from its replica.");
        }

        var decoded = new TValue[JournalRecordFormat.CountValues(values)];
        for (int i = 0, position = 0; i < decoded.Length; i++)
        {
            decoded[i] = _valueCodec.Read(JournalRecordFormat.NextValue(values, ref position));
        }

        Set(_keyCodec.Read(key), decoded);
    }

    private void Set(TKey key, TValue[] values)
    {
        // One write is atomic for readers: taking the key, or setting a set's one value (it replaces the old one).
        if (values.Length == 0)
        {
            _store.Take(key);
            return;
        }

        if (values.Length == 1 && type is TableType.Set or TableType.OrderedSet)
        {
            _store.Insert(key, values[0]);
            return;
        }

        // A bag's state is several writes (take the key, insert each value): inside a batch, a concurrent Lookup waits
        // for all of them instead of seeing the key missing or half filled. Decoding comes first, so the batch is only
        // the writes.
        _store.EnterBatch();
        try
        {
            _store.Take(key);
            foreach (var value in values)
            {
                _store.Insert(key, value);
            }
        }
        finally
        {
            _store.ExitBatch();
        }
    }

    /// <summary>The values the copy holds for a key (none or one for a set, in insertion order for a bag), as the
    /// follower last applied them; safe while it applies more. After <see cref="Promote"/>, the table's own values.</summary>
    /// <param name="key">The key.</param>
    public IReadOnlyList<TValue> Lookup(TKey key) => _store.Lookup(key);

    /// <summary>
    /// Makes the copy a replicated table owned by the calling process (or the node, outside any process), whose writes
    /// go to <paramref name="replica"/> with the sequences after <paramref name="lastSequence"/>. Once only.
    /// </summary>
    /// <param name="node">The node.</param>
    /// <param name="options">Access, name, heir; the type must be the standby's.</param>
    /// <param name="replica">Where the table's writes go.</param>
    /// <param name="lastSequence">The sequence of the last write the replica holds (which this copy has applied).</param>
    /// <exception cref="ArgumentException">The options name another table type.</exception>
    /// <exception cref="InvalidOperationException">The standby was promoted already.</exception>
    /// <exception cref="TableException">The name is taken.</exception>
    public Table<TKey, TValue> Promote(Node node, TableOptions options, ITableReplica replica, long lastSequence)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentOutOfRangeException.ThrowIfNegative(lastSequence);
        if (options.Type != type)
        {
            throw new ArgumentException($"The standby holds a {type} table; it cannot become a {options.Type} table.", nameof(options));
        }

        if (Interlocked.Exchange(ref _promoted, true))
        {
            throw new InvalidOperationException("The standby was promoted already; keep a new standby for the next takeover.");
        }

        ReplicatedStore<TKey, TValue>? replicated = null;
        var table = Table.Create<TKey, TValue>(node, options, null, null, engine =>
            replicated = new ReplicatedStore<TKey, TValue>(engine, type is TableType.Set or TableType.OrderedSet, replica, lastSequence, _keyCodec, _valueCodec), _store);
        replicated!.Table = table;
        return table;
    }
}
