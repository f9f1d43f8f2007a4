namespace Heirloom.Persistence;

/// <summary>A codec whose every value takes <see cref="Size"/> bytes, so that it writes straight into a span: the
/// off-heap stores encode such keys on the stack, without a buffer writer.</summary>
/// <typeparam name="T">The value type.</typeparam>
internal interface IFixedSizeCodec<in T>
{
    /// <summary>The bytes every value takes.</summary>
    int Size { get; }

    /// <summary>Writes the value into the first <see cref="Size"/> bytes of <paramref name="destination"/>, exactly as
    /// the codec's buffer-writer form does.</summary>
    void WriteTo(Span<byte> destination, T value);
}
