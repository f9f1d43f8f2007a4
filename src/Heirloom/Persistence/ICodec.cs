using System.Buffers;

namespace Heirloom.Persistence;

/// <summary>Turns values into bytes and back, for table files. Built-in codecs come from <see cref="Codecs"/>;
/// <see cref="JsonCodec{T}"/> serves any other type; implement this interface for your own format.</summary>
/// <typeparam name="T">The value type.</typeparam>
public interface ICodec<T>
{
    /// <summary>A stable name recorded in files, so a file is never read with another codec.</summary>
    string Name { get; }

    /// <summary>Writes the value.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="value">The value.</param>
    void Write(IBufferWriter<byte> writer, T value);

    /// <summary>Reads a value written by <see cref="Write"/>.</summary>
    /// <param name="data">Exactly the bytes <see cref="Write"/> wrote.</param>
    T Read(ReadOnlySpan<byte> data);
}
