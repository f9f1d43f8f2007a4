using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Heirloom.Routing;

/// <summary>
/// One frame of the node-to-node protocol: a 4-byte little-endian length (of what follows it), the kind, an 8-byte
/// correlation id, and the payload. Calls of one connection are multiplexed by their ids; frames queued while a flush
/// runs go out in the next one, so concurrent callers share writes.
/// </summary>
internal readonly record struct Frame(FrameKind Kind, long Id, byte[] Payload)
{
    /// <summary>Length, kind and id.</summary>
    public const int HeaderSize = 4 + 1 + 8;

    private const int MaxKeptScratch = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>No frame is larger: a bigger length means a broken or hostile peer, and the connection is closed.</summary>
    public const int MaxSize = 64 * 1024 * 1024;

    /// <summary>Writes the frame to <paramref name="writer"/>.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(HeaderSize + Payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span, 1 + 8 + Payload.Length);
        span[4] = (byte)Kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[5..], Id);
        Payload.CopyTo(span[HeaderSize..]);
        writer.Advance(HeaderSize + Payload.Length);
    }

    /// <summary>Takes one whole frame off the front of <paramref name="buffer"/>, if it holds one.</summary>
    /// <exception cref="InvalidDataException">The length is impossible.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> lengthBytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(lengthBytes);
        var length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (length < 9 || length > MaxSize)
        {
            throw new InvalidDataException($"A frame of {length} bytes is not valid in the routing protocol.");
        }

        if (buffer.Length < 4 + length)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[9];
        buffer.Slice(4, 9).CopyTo(header);
        var payload = new byte[length - 9];
        buffer.Slice(HeaderSize, payload.Length).CopyTo(payload);
        frame = new Frame((FrameKind)header[0], BinaryPrimitives.ReadInt64LittleEndian(header[1..]), payload);
        buffer = buffer.Slice(4 + length);
        return true;
    }

    /// <summary>A call or cast: table, remaining budget in ticks (-1 for none), codec name, request.</summary>
    public static Frame Request(FrameKind kind, long id, string table, long budgetTicks, MessageCodec codec, object request)
    {
        var writer = Scratch();
        WriteString(writer, table);
        BinaryPrimitives.WriteInt64LittleEndian(writer.GetSpan(8), budgetTicks);
        writer.Advance(8);
        WriteString(writer, codec.Name);
        codec.Write(writer, request);
        return new Frame(kind, id, writer.WrittenSpan.ToArray());
    }

    /// <summary>A read of a key: table, key type, value type, key codec and value codec names, then the key's bytes.</summary>
    public static Frame LookupRequest(long id, string table, string keyType, string valueType, string keyCodec, string valueCodec, ReadOnlySpan<byte> key)
    {
        var writer = Scratch();
        WriteString(writer, table);
        WriteString(writer, keyType);
        WriteString(writer, valueType);
        WriteString(writer, keyCodec);
        WriteString(writer, valueCodec);
        writer.Write(key);
        return new Frame(FrameKind.Lookup, id, writer.WrittenSpan.ToArray());
    }

    /// <summary>A read's reply: Ok, then the count of values and each value's length and bytes.</summary>
    public static Frame ReplyValues(long id, byte[][] values)
    {
        var writer = Scratch();
        writer.GetSpan(1)[0] = (byte)ReplyStatus.Ok;
        writer.Advance(1);
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), values.Length);
        writer.Advance(4);
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value.Length);
            writer.Advance(4);
            writer.Write(value);
        }

        return new Frame(FrameKind.Reply, id, writer.WrittenSpan.ToArray());
    }

    /// <summary>The values of a read's Ok reply (<see cref="ReplyValues"/>), from after its status byte.</summary>
    /// <exception cref="InvalidDataException">The lengths do not fit the payload.</exception>
    public static byte[][] ReadValues(ReadOnlySpan<byte> data)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (count < 0 || count > (data.Length - 4) / 4)
        {
            throw new InvalidDataException($"A read's reply of {data.Length} bytes cannot hold {count} values.");
        }

        var values = new byte[count][];
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
            if (length < 0 || length > data.Length - offset - 4)
            {
                throw new InvalidDataException($"A read's reply of {data.Length} bytes cannot hold a value of {length} bytes.");
            }

            values[i] = data.Slice(offset + 4, length).ToArray();
            offset += 4 + length;
        }

        return values;
    }

    /// <summary>A reply carrying a value (or null).</summary>
    public static Frame ReplyWith(long id, MessageCodec? codec, object? reply)
    {
        var writer = Scratch();
        writer.GetSpan(1)[0] = (byte)ReplyStatus.Ok;
        writer.Advance(1);
        WriteString(writer, codec?.Name ?? "");
        if (codec is not null)
        {
            codec.Write(writer, reply!);
        }

        return new Frame(FrameKind.Reply, id, writer.WrittenSpan.ToArray());
    }

    /// <summary>A reply saying why there is no value: whether the handler started, and a message.</summary>
    public static Frame ReplyWithout(long id, ReplyStatus status, bool started, string message)
    {
        var writer = Scratch();
        var span = writer.GetSpan(2);
        span[0] = (byte)status;
        span[1] = started ? (byte)1 : (byte)0;
        writer.Advance(2);
        Encoding.UTF8.GetBytes(message, writer);
        return new Frame(FrameKind.Reply, id, writer.WrittenSpan.ToArray());
    }

    /// <summary>This thread's buffer for building a payload, emptied: a payload is copied out of it before anything
    /// else on the thread can build another (codecs write synchronously), so one per thread serves every frame.</summary>
    private static ArrayBufferWriter<byte> Scratch()
    {
        var writer = t_scratch ??= new ArrayBufferWriter<byte>(256);
        if (writer.Capacity > MaxKeptScratch)
        {
            // A huge request once must not pin its buffer on the thread for ever.
            writer = t_scratch = new ArrayBufferWriter<byte>(256);
        }

        writer.ResetWrittenCount();
        return writer;
    }

    /// <summary>Reads a length-prefixed UTF-8 string at <paramref name="offset"/>, moving it past.</summary>
    public static string ReadString(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
        var text = Encoding.UTF8.GetString(data.Slice(offset + 2, length));
        offset += 2 + length;
        return text;
    }

    private static void WriteString(ArrayBufferWriter<byte> writer, string text)
    {
        var count = Encoding.UTF8.GetByteCount(text);
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException($"'{text[..40]}...' is too long a name for the routing protocol (at most 65,535 UTF-8 bytes).");
        }

        BinaryPrimitives.WriteUInt16LittleEndian(writer.GetSpan(2), (ushort)count);
        writer.Advance(2);
        Encoding.UTF8.GetBytes(text, writer);
    }
}
