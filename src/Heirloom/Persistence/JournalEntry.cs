namespace Heirloom.Persistence;

/// <summary>One entry of a journal record, as codec bytes: a key's whole state, or (no key) the table emptied.</summary>
/// <param name="Key">The key's codec bytes; null when the entry empties the table.</param>
/// <param name="Values">The values' codec bytes; none when the key is gone.</param>
public sealed record JournalEntry(byte[]? Key, IReadOnlyList<byte[]> Values);
