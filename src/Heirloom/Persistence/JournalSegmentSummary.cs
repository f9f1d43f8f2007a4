namespace Heirloom.Persistence;

/// <summary>What reading one journal segment found.</summary>
/// <param name="FirstSequence">The sequence of its first record (from its file name).</param>
/// <param name="Records">How many valid records it holds.</param>
/// <param name="ValidLength">Where its valid records end, in bytes from the start of the file.</param>
/// <param name="TornBytes">How many bytes of a torn last record follow them (0 when none); opening the table cuts them off.</param>
public readonly record struct JournalSegmentSummary(long FirstSequence, long Records, long ValidLength, long TornBytes)
{
    /// <summary>The sequence of its last valid record; <see cref="FirstSequence"/> - 1 when it holds none.</summary>
    public long LastSequence => FirstSequence + Records - 1;
}
