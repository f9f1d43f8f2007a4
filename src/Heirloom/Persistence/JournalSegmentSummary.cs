namespace Heirloom.Persistence;

/// <summary>What reading one journal segment found.</summary>
/// <param name="Header">The table's type, access and codecs as the segment records them; null when the segment's
/// creation was interrupted before its header was whole (it then holds no records, and opening rewrites it).</param>
/// <param name="FirstSequence">The sequence of its first record (from its file name).</param>
/// <param name="Records">How many valid records it holds.</param>
/// <param name="ValidLength">Where its valid records end, in bytes from the start of the file.</param>
/// <param name="TornBytes">How many bytes of a torn last record follow them (0 when none); opening the table cuts them off.</param>
public readonly record struct JournalSegmentSummary(JournalSegmentHeader? Header, long FirstSequence, long Records, long ValidLength, long TornBytes)
{
    /// <summary>The sequence of its last valid record; <see cref="FirstSequence"/> - 1 when it holds none.</summary>
    public long LastSequence => FirstSequence + Records - 1;
}
