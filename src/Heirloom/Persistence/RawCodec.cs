using System.Buffers;

namespace Heirloom.Persistence;

/// <summary>Reads a value's codec bytes as they are, under whatever codec name the file gives, so any file can be read
/// without its types.</summary>
internal sealed class RawCodec(string name, int version = 1) : ICodec<byte[]>
{
    public string Name => name;

    public int Version => version;

    public void Write(IBufferWriter<byte> writer, byte[] value) => writer.Write(value);

    public byte[] Read(ReadOnlySpan<byte> data) => data.ToArray();
}
