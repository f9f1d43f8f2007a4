namespace Heirloom.Persistence;

/// <summary>A table file's header and objects, as <see cref="TableFile.ReadRaw"/> reads them.</summary>
/// <param name="Info">The header.</param>
/// <param name="Objects">Each object's key and value, as their codecs' bytes, in file order.</param>
public sealed record TableFileContents(TableFileInfo Info, IReadOnlyList<KeyValuePair<byte[], byte[]>> Objects);
