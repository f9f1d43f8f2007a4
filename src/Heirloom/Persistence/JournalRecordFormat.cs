using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// The payload of a journal record, encoded and decoded here and nowhere else. A payload is one entry: a kind byte
/// then its body. A key-state entry is the key and all its values now (each as a 4-byte little-endian length and the
/// codec's bytes; no values means the key is gone): replaying it sets the key to exactly that. A cleared entry empties
/// the table. A batch entry is a count and that many key-state or cleared entries, replayed together.
/// </summary>
internal static class JournalRecordFormat
{
    private const byte KeyState = 1;
    private const byte Cleared = 2;
    private const byte Batch = 3;

    /// <summary>Whether a payload is a batch (several entries written as one atomic record).</summary>
    public static bool IsBatch(ReadOnlySpan<byte> payload) => payload.Length > 0 && payload[0] == Batch;

    /// <summary>Writes a key-state entry: the key and all of its values now.</summary>
    public static void WriteKeyState<TKey, TValue>(ArrayBufferWriter<byte> buffer, ICodec<TKey> keyCodec, TKey key, ICodec<TValue> valueCodec, ReadOnlySpan<TValue> values)
    {
        buffer.Write([KeyState]);
        WriteFramed(buffer, keyCodec, key);
        WriteInt32(buffer, values.Length);
        foreach (var value in values)
        {
            WriteFramed(buffer, valueCodec, value);
        }
    }

    /// <summary>Writes a cleared entry.</summary>
    public static void WriteCleared(ArrayBufferWriter<byte> buffer) => buffer.Write([Cleared]);

    /// <summary>Starts a batch of <paramref name="entries"/> entries, which the caller writes next.</summary>
    public static void WriteBatchHeader(ArrayBufferWriter<byte> buffer, int entries)
    {
        buffer.Write([Batch]);
        WriteInt32(buffer, entries);
    }

    /// <summary>
    /// Decodes a payload, handing each entry to <paramref name="sink"/> in order (a batch's entries one by one).
    /// </summary>
    /// <exception cref="InvalidDataException">The payload is not one well-formed entry.</exception>
    public static void Decode<TSink>(ReadOnlySpan<byte> payload, ref TSink sink)
        where TSink : IJournalEntrySink
    {
        var position = 0;
        try
        {
            DecodeEntry(payload, ref position, ref sink, nested: false);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidDataException("A journal entry runs past the end of its record.", e);
        }

        if (position != payload.Length)
        {
            throw new InvalidDataException($"A journal record has {payload.Length - position} bytes after its entry.");
        }
    }

    private static void DecodeEntry<TSink>(ReadOnlySpan<byte> payload, ref int position, ref TSink sink, bool nested)
        where TSink : IJournalEntrySink
    {
        switch (payload[position++])
        {
            case KeyState:
                var key = Framed(payload, ref position);
                var count = ReadInt32(payload, ref position);
                if (count < 0)
                {
                    throw new InvalidDataException($"A journal entry gives {count} values for its key.");
                }

                sink.KeyState(key, count);
                var valuesStart = position;
                for (var i = 0; i < count; i++)
                {
                    sink.Value(Framed(payload, ref position));
                }

                sink.KeyStateEnd(key, payload[valuesStart..position]);
                break;
            case Cleared:
                sink.Cleared();
                break;
            case Batch when !nested:
                var entries = ReadInt32(payload, ref position);
                for (var i = 0; i < entries; i++)
                {
                    DecodeEntry(payload, ref position, ref sink, nested: true);
                }

                break;
            default:
                throw new InvalidDataException($"Unknown journal entry kind {payload[position - 1]}{(nested ? " inside a batch" : "")}.");
        }
    }

    /// <summary>
    /// The next value of a key state as payloads frame its values (each behind its 4-byte little-endian length), from
    /// <paramref name="position"/>, which moves past it.
    /// </summary>
    /// <exception cref="InvalidDataException">The values are cut short or a length does not add up.</exception>
    public static ReadOnlySpan<byte> NextValue(ReadOnlySpan<byte> values, ref int position)
    {
        if (values.Length - position < 4 || BinaryPrimitives.ReadInt32LittleEndian(values[position..]) is var length && (length < 0 || length > values.Length - position - 4))
        {
            throw new InvalidDataException("A key state's values are cut short or their lengths do not add up.");
        }

        var value = values.Slice(position + 4, length);
        position += 4 + length;
        return value;
    }

    /// <summary>How many values a key state's framed values hold.</summary>
    /// <exception cref="InvalidDataException">The values are cut short or a length does not add up.</exception>
    public static int CountValues(ReadOnlySpan<byte> values)
    {
        var count = 0;
        for (var position = 0; position < values.Length; count++)
        {
            NextValue(values, ref position);
        }

        return count;
    }

    private static ReadOnlySpan<byte> Framed(ReadOnlySpan<byte> record, ref int position)
    {
        var length = ReadInt32(record, ref position);
        var framed = record.Slice(position, length);
        position += length;
        return framed;
    }

    private static int ReadInt32(ReadOnlySpan<byte> record, ref int position)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(record[position..]);
        position += 4;
        return value;
    }

    /// <summary>A codec's bytes behind their length, written in place: the length is patched in after the codec ran.</summary>
    private static void WriteFramed<T>(ArrayBufferWriter<byte> buffer, ICodec<T> codec, T item)
    {
        var lengthAt = buffer.WrittenCount;
        WriteInt32(buffer, 0);
        codec.Write(buffer, item);
        var length = buffer.WrittenCount - lengthAt - 4;
        BinaryPrimitives.WriteInt32LittleEndian(MemoryMarshal.AsMemory(buffer.WrittenMemory).Span[lengthAt..], length);
    }

    private static void WriteInt32(IBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }
}
