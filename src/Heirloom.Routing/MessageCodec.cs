using System.Buffers;
using Heirloom.Persistence;

namespace Heirloom.Routing;

/// <summary>One registered codec, untyped for the wire.</summary>
internal abstract class MessageCodec
{
    public abstract string Name { get; }

    public abstract Type Type { get; }

    public abstract void Write(IBufferWriter<byte> writer, object value);

    public abstract object Read(ReadOnlySpan<byte> data);

    internal sealed class Of<T>(ICodec<T> codec) : MessageCodec
    {
        public override string Name => codec.Name;

        public override Type Type => typeof(T);

        public override void Write(IBufferWriter<byte> writer, object value) => codec.Write(writer, (T)value);

        public override object Read(ReadOnlySpan<byte> data) => codec.Read(data)!;
    }
}
