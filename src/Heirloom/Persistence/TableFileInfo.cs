using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>What a table file's header says (ETS's <c>tabfile_info/1</c>).</summary>
/// <param name="Version">The format version.</param>
/// <param name="Type">The table type.</param>
/// <param name="Access">The table access.</param>
/// <param name="Name">The table name, or null.</param>
/// <param name="ObjectCount">How many objects the file holds.</param>
/// <param name="JournalSequence">For a durable table's snapshot, the last journal record it includes; 0 for a saved table.</param>
/// <param name="KeyCodec">The key codec's name.</param>
/// <param name="ValueCodec">The value codec's name.</param>
/// <param name="Checksum">The SHA-256 of the header and objects, as stored (hex).</param>
public sealed record TableFileInfo(int Version, TableType Type, TableAccess Access, string? Name, long ObjectCount, long JournalSequence, string KeyCodec, string ValueCodec, string Checksum);
