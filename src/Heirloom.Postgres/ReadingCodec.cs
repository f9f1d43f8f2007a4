using System.Buffers;
using Heirloom.Persistence;

namespace Heirloom.Postgres;

/// <summary>
/// A node's codec, reading a table's rows at the version the table records (<see cref="ReadingVersion"/>, through the
/// codec's upgrade steps when it is older) and writing at the codec's own version. The version changes only between
/// reads of rows, in the standby's process.
/// </summary>
internal sealed class ReadingCodec<T>(ICodec<T> codec) : ICodec<T>
{
    public ICodec<T> Codec => codec;

    public int ReadingVersion { get; set; } = codec.Version;

    public string Name => codec.Name;

    public int Version => codec.Version;

    public int OldestVersion => codec.OldestVersion;

    public IReadOnlyCollection<string> Aliases => codec.Aliases;

    public void Write(IBufferWriter<byte> writer, T value) => codec.Write(writer, value);

    public T Read(ReadOnlySpan<byte> data) => ReadingVersion == codec.Version ? codec.Read(data) : codec.ReadVersion(ReadingVersion, data);

    public T ReadVersion(int version, ReadOnlySpan<byte> data) => codec.ReadVersion(version, data);
}
