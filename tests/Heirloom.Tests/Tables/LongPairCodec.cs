using System.Buffers;
using System.Buffers.Binary;
using Heirloom.Persistence;

namespace Heirloom.Tests.Tables;

/// <summary>Both halves of a pair of longs, so a torn value would show after a round trip too.</summary>
internal sealed class LongPairCodec : ICodec<(long A, long B)>
{
    public string Name => "i64-pair";

    /// <summary>The codec for <typeparamref name="T"/> in the table operation tests: this one for pairs, else the
    /// built-in one.</summary>
    public static ICodec<T> Or<T>() =>
        typeof(T) == typeof((long, long)) ? (ICodec<T>)(object)new LongPairCodec() : Codecs.For<T>();

    public void Write(IBufferWriter<byte> writer, (long A, long B) value)
    {
        var span = writer.GetSpan(16);
        BinaryPrimitives.WriteInt64LittleEndian(span, value.A);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], value.B);
        writer.Advance(16);
    }

    public (long A, long B) Read(ReadOnlySpan<byte> data) =>
        (BinaryPrimitives.ReadInt64LittleEndian(data), BinaryPrimitives.ReadInt64LittleEndian(data[8..]));
}
