using Heirloom.Persistence;

namespace Heirloom.Postgres;

/// <summary>A run of writes reduced to what one commit stores: each key's last state and the sequence that set it,
/// and the sequence of the last emptying of the table among them (0 for none), which comes before every key state kept.</summary>
internal sealed class KeyStates
{
    private KeyStates(long clearedAt, byte[][] keys, byte[]?[] states, long[] sequences)
    {
        ClearedAt = clearedAt;
        Keys = keys;
        States = states;
        Sequences = sequences;
    }

    public long ClearedAt { get; }

    public byte[][] Keys { get; }

    public byte[]?[] States { get; }

    public long[] Sequences { get; }

    public static KeyStates Of(List<JournalRecord> records, int start, int count)
    {
        var last = new Dictionary<byte[], (byte[]? State, long Sequence)>(ByteArrayComparer.Instance);
        var clearedAt = 0L;
        for (var i = start; i < start + count; i++)
        {
            var record = records[i];
            foreach (var entry in record.Entries)
            {
                if (entry.Key is null)
                {
                    last.Clear();
                    clearedAt = record.Sequence;
                }
                else
                {
                    last[entry.Key] = (KeyStateEncoding.Encode(entry.Values), record.Sequence);
                }
            }
        }

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

        return new KeyStates(clearedAt, keys, states, sequences);
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
