using System.Buffers;

namespace Heirloom.Persistence;

/// <summary>Turns values into bytes and back, for table files. Built-in codecs come from <see cref="Codecs"/>;
/// <see cref="JsonCodec{T}"/> serves any other type; implement this interface for your own format, and
/// <see cref="VersionedCodec{T}"/> carries values written by older versions of a codec forward.</summary>
/// <typeparam name="T">The value type.</typeparam>
public interface ICodec<T>
{
    /// <summary>A stable name recorded in files, so a file is never read with another codec. It must not hold '@'.</summary>
    string Name { get; }

    /// <summary>The version of the bytes <see cref="Write"/> writes, recorded in files beside the name: 1 unless the
    /// codec says otherwise. Files written at an older version open only if <see cref="OldestVersion"/> reaches it;
    /// files written at a newer one are refused.</summary>
    int Version => 1;

    /// <summary>The oldest version <see cref="ReadVersion"/> reads: <see cref="Version"/> unless the codec carries
    /// upgrade steps.</summary>
    int OldestVersion => Version;

    /// <summary>Other names this codec's values were recorded under (a codec renamed, or named after a CLR type
    /// before it had a stable name): files under them open, and are rewritten under <see cref="Name"/>.</summary>
    IReadOnlyCollection<string> Aliases => [];

    /// <summary>Writes the value.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="value">The value.</param>
    void Write(IBufferWriter<byte> writer, T value);

    /// <summary>Reads a value written by <see cref="Write"/>.</summary>
    /// <param name="data">Exactly the bytes <see cref="Write"/> wrote.</param>
    T Read(ReadOnlySpan<byte> data);

    /// <summary>Reads a value written at <paramref name="version"/> (from <see cref="OldestVersion"/> to
    /// <see cref="Version"/>) and upgrades it to the current shape.</summary>
    /// <param name="version">The version the bytes were written at.</param>
    /// <param name="data">Exactly the bytes written.</param>
    /// <exception cref="NotSupportedException">The codec cannot read that version.</exception>
    T ReadVersion(int version, ReadOnlySpan<byte> data) =>
        version == Version
            ? Read(data)
            : throw new NotSupportedException($"The codec {Name} reads version {Version} only, not {version}; wrap it in a VersionedCodec with the steps from version {version}.");
}
