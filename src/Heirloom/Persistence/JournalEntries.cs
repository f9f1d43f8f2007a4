using System.Buffers.Binary;

namespace Heirloom.Persistence;

/// <summary>
/// The payload of a journal record: one entry, a kind byte then its body. A key-state entry is the key and all its
/// values now (length-prefixed codec bytes; no values means the key is gone): replaying it sets the key to exactly
/// that. A cleared entry empties the table. A batch entry is a count and that many entries, replayed together.
/// </summary>
internal static class JournalEntries
{
    public const byte KeyState = 1;
    public const byte Cleared = 2;
    public const byte Batch = 3;

    /// <summary>Decodes a record's entries into raw codec bytes, flattening a batch, for tools.</summary>
    /// <exception cref="InvalidDataException">The payload is not a well-formed entry.</exception>
    public static List<JournalEntry> Decode(ReadOnlySpan<byte> payload)
    {
        var entries = new List<JournalEntry>();
        var position = 0;
        try
        {
            DecodeEntry(payload, ref position, entries);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidDataException("A journal entry runs past the end of its record.", e);
        }

        return position == payload.Length ? entries : throw new InvalidDataException($"A journal record has {payload.Length - position} bytes after its entry.");
    }

    public static ReadOnlySpan<byte> Framed(ReadOnlySpan<byte> record, ref int position)
    {
        var length = ReadInt32(record, ref position);
        var framed = record.Slice(position, length);
        position += length;
        return framed;
    }

    public static int ReadInt32(ReadOnlySpan<byte> record, ref int position)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(record[position..]);
        position += 4;
        return value;
    }

    private static void DecodeEntry(ReadOnlySpan<byte> payload, ref int position, List<JournalEntry> entries)
    {
        switch (payload[position++])
        {
            case KeyState:
                var key = Framed(payload, ref position).ToArray();
                var values = new byte[ReadInt32(payload, ref position)][];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = Framed(payload, ref position).ToArray();
                }

                entries.Add(new JournalEntry(key, values));
                break;
            case Cleared:
                entries.Add(new JournalEntry(null, []));
                break;
            case Batch:
                var count = ReadInt32(payload, ref position);
                for (var i = 0; i < count; i++)
                {
                    DecodeEntry(payload, ref position, entries);
                }

                break;
            default:
                throw new InvalidDataException($"Unknown journal entry kind {payload[position - 1]}.");
        }
    }
}

/// <summary>One decoded journal entry: a key's whole state, or (no key) the table cleared.</summary>
/// <param name="Key">The key's codec bytes; null for a clear.</param>
/// <param name="Values">The values' codec bytes; empty when the key is gone.</param>
internal sealed record JournalEntry(byte[]? Key, byte[][] Values);
