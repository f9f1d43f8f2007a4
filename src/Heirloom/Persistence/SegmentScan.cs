namespace Heirloom.Persistence;

/// <summary>What reading one journal segment found.</summary>
/// <param name="Records">How many valid records it holds.</param>
/// <param name="ValidLength">Where its valid records end.</param>
/// <param name="TornBytes">How many bytes of a torn last record follow them (0 when none).</param>
internal readonly record struct SegmentScan(long Records, long ValidLength, long TornBytes);

/// <summary>Receives one journal record during a scan.</summary>
/// <param name="sequence">The record's sequence.</param>
/// <param name="payload">Its payload.</param>
internal delegate void SegmentRecordHandler(long sequence, ReadOnlySpan<byte> payload);
