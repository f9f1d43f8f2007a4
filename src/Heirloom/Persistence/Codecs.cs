using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace Heirloom.Persistence;

/// <summary>Fast built-in codecs for primitives, strings, byte arrays, Guid and DateTime.</summary>
public static class Codecs
{
    /// <summary>The built-in codec for <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">long, int, double, bool, string, byte[], Guid or DateTime.</typeparam>
    /// <exception cref="NotSupportedException">No built-in codec; use <see cref="JsonCodec{T}"/> or your own <see cref="ICodec{T}"/>.</exception>
    public static ICodec<T> For<T>() => (ICodec<T>)(object)(typeof(T) switch
    {
        var t when t == typeof(long) => (object)new Fixed<long>("i64", 8, (s, v) => BinaryPrimitives.WriteInt64LittleEndian(s, v), BinaryPrimitives.ReadInt64LittleEndian),
        var t when t == typeof(int) => (object)new Fixed<int>("i32", 4, (s, v) => BinaryPrimitives.WriteInt32LittleEndian(s, v), BinaryPrimitives.ReadInt32LittleEndian),
        var t when t == typeof(double) => (object)new Fixed<double>("f64", 8, (s, v) => BinaryPrimitives.WriteDoubleLittleEndian(s, v), BinaryPrimitives.ReadDoubleLittleEndian),
        var t when t == typeof(bool) => (object)new Fixed<bool>("bool", 1, (s, v) => s[0] = v ? (byte)1 : (byte)0, s => s[0] != 0),
        var t when t == typeof(Guid) => (object)new Fixed<Guid>("guid", 16, (s, v) => v.TryWriteBytes(s), s => new Guid(s)),
        var t when t == typeof(DateTime) => (object)new Fixed<DateTime>("datetime", 8, (s, v) => BinaryPrimitives.WriteInt64LittleEndian(s, v.ToBinary()), s => DateTime.FromBinary(BinaryPrimitives.ReadInt64LittleEndian(s))),
        var t when t == typeof(string) => (object)new Utf8String(),
        var t when t == typeof(byte[]) => (object)new Bytes(),
        _ => throw new NotSupportedException($"There is no built-in codec for {typeof(T).Name}; use JsonCodec<{typeof(T).Name}> or implement ICodec<{typeof(T).Name}>."),
    });

    private delegate void SpanWriter<in T>(Span<byte> destination, T value);

    private delegate T SpanReader<out T>(ReadOnlySpan<byte> source);

    private sealed class Fixed<T>(string name, int size, SpanWriter<T> write, SpanReader<T> read) : ICodec<T>, IFixedSizeCodec<T>
    {
        public string Name => name;

        public int Size => size;

        public void WriteTo(Span<byte> destination, T value) => write(destination, value);

        public void Write(IBufferWriter<byte> writer, T value)
        {
            write(writer.GetSpan(size), value);
            writer.Advance(size);
        }

        public T Read(ReadOnlySpan<byte> data) =>
            data.Length == size ? read(data) : throw new FormatException($"A {name} value takes {size} bytes, not {data.Length}.");
    }

    private sealed class Utf8String : ICodec<string>
    {
        // Values up to this many bytes are transcoded on the stack, then copied into the string in one step. UTF-8 never
        // takes fewer bytes than UTF-16 takes chars, so the chars fit.
        private const int StackChars = 256;

        public string Name => "utf8";

        public void Write(IBufferWriter<byte> writer, string value) => Encoding.UTF8.GetBytes(value, writer);

        // Encoding.GetString counts the chars in one pass and transcodes in a second, branching on the bytes all along;
        // after a cache miss on the bytes (an off-heap lookup) those branches hold back the lookups that follow, where
        // one transcoding pass and a copy let them proceed. Invalid sequences become U+FFFD either way.
        public string Read(ReadOnlySpan<byte> data) => data.Length <= StackChars ? ReadSmall(data) : Encoding.UTF8.GetString(data);

        [SkipLocalsInit]
        private static string ReadSmall(ReadOnlySpan<byte> data)
        {
            Span<char> chars = stackalloc char[StackChars];
            Utf8.ToUtf16(data, chars, out _, out var written);
            return new string(chars[..written]);
        }
    }

    private sealed class Bytes : ICodec<byte[]>
    {
        public string Name => "bytes";

        public void Write(IBufferWriter<byte> writer, byte[] value) => writer.Write(value);

        public byte[] Read(ReadOnlySpan<byte> data) => data.ToArray();
    }
}
