namespace Heirloom.Persistence;

/// <summary>One journal record, decoded: what one acknowledged write (or one atomic batch) did to the table.</summary>
/// <param name="Sequence">The record's sequence; each record's is one more than the one before.</param>
/// <param name="Bytes">Its size in the file, header included.</param>
/// <param name="IsBatch">Whether it was written as one batch of entries, replayed all or none.</param>
/// <param name="Entries">Its entries, in order.</param>
public sealed record JournalRecord(long Sequence, int Bytes, bool IsBatch, IReadOnlyList<JournalEntry> Entries);
