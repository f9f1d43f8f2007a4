using Heirloom.Persistence;

namespace Heirloom.Postgres;

/// <summary>A run of writes reduced to what one commit stores: each key's last state and the sequence that set it,
/// and the sequence of the last emptying of the table among them (0 for none), which comes before every key state kept.</summary>
internal sealed class KeyStates
{
    private readonly Dictionary<byte[], (byte[]? State, long Sequence)> _byKey;

    private KeyStates(Dictionary<byte[], (byte[]? State, long Sequence)> byKey, long clearedAt, byte[][] keys, byte[]?[] states, long[] sequences)
    {
        _byKey = byKey;
        ClearedAt = clearedAt;
        Keys = keys;
        States = states;
        Sequences = sequences;
    }

    public long ClearedAt { get; }

    public byte[][] Keys { get; }

    public byte[]?[] States { get; }

    public long[] Sequences { get; }

    /// <summary>Each key's last state among the records: a record's payload is decoded once, and a key's state is its
    /// values as the payload frames them (the rows' encoding, <see cref="KeyStateEncoding"/>), copied, not re-encoded.
    /// A record without a payload (read from a spool of the first format) gives its entries.</summary>
    public static KeyStates Of(List<JournalRecord> records, int start, int count)
    {
        var reader = new LastStates();
        for (var i = start; i < start + count; i++)
        {
            var record = records[i];
            reader.Sequence = record.Sequence;
            if (!record.Payload.IsEmpty)
            {
                JournalRecord.ReadPayload(record.Payload.Span, reader);
                continue;
            }

            foreach (var entry in record.Entries)
            {
                if (entry.Key is null)
                {
                    reader.Cleared();
                }
                else
                {
                    reader.Last[entry.Key] = (KeyStateEncoding.Encode(entry.Values), record.Sequence);
                }
            }
        }

        var (last, clearedAt) = (reader.Last, reader.ClearedAt);
        var keys = new byte[last.Count][];
        var states = new byte[]?[last.Count];
        var sequences = new long[last.Count];
        var n = 0;
        foreach (var (key, (state, sequence)) in last)
        {
            keys[n] = key;
            states[n] = state;
            sequences[n++] = sequence;
        }

        return new KeyStates(last, clearedAt, keys, states, sequences);
    }

    /// <summary>Whether the two write a key in common, or either empties the table (it writes every row).</summary>
    public bool SharesKeysWith(KeyStates other)
    {
        if (ClearedAt > 0 || other.ClearedAt > 0)
        {
            return true;
        }

        var (small, large) = _byKey.Count <= other._byKey.Count ? (this, other) : (other, this);
        foreach (var key in small._byKey.Keys)
        {
            if (large._byKey.ContainsKey(key))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class LastStates : IJournalPayloadReader
    {
        public Dictionary<byte[], (byte[]? State, long Sequence)> Last { get; } = new(ByteArrayComparer.Instance);

        public long ClearedAt { get; private set; }

        public long Sequence { get; set; }

        public void KeyState(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values) =>
            Last[key.ToArray()] = (values.IsEmpty ? null : values.ToArray(), Sequence);

        public void Cleared()
        {
            Last.Clear();
            ClearedAt = Sequence;
        }
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
