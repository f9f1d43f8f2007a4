using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>What a table file's header says (ETS's <c>tabfile_info/1</c>).</summary>
/// <param name="Version">The format version.</param>
/// <param name="Type">The table type.</param>
/// <param name="Access">The table access.</param>
/// <param name="Name">The table name, or null.</param>
/// <param name="ObjectCount">How many objects the file holds.</param>
/// <param name="JournalSequence">For a durable table's snapshot, the last journal record it includes; 0 for a saved table.</param>
/// <param name="KeyCodec">The key codec's name (without its version).</param>
/// <param name="ValueCodec">The value codec's name (without its version).</param>
/// <param name="Checksum">The SHA-256 of the header and objects, as stored (hex).</param>
public sealed record TableFileInfo(int Version, TableType Type, TableAccess Access, string? Name, long ObjectCount, long JournalSequence, string KeyCodec, string ValueCodec, string Checksum)
{
    /// <summary>The version of the key codec the keys were written with (1 for files written before codecs had versions).</summary>
    public int KeyCodecVersion { get; init; } = 1;

    /// <summary>The version of the value codec the values were written with (1 for files written before codecs had versions).</summary>
    public int ValueCodecVersion { get; init; } = 1;

    /// <summary>The codecs as files record them and messages name them: key codec/value codec, each with <c>@v</c> and
    /// its version when above 1.</summary>
    public string Codecs => $"{CodecIdentity.Format(KeyCodec, KeyCodecVersion)}/{CodecIdentity.Format(ValueCodec, ValueCodecVersion)}";
}
