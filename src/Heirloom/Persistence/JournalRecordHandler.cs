namespace Heirloom.Persistence;

/// <summary>Receives one journal record's payload during a scan.</summary>
/// <param name="sequence">The record's sequence.</param>
/// <param name="offset">Where the record starts in its segment, in bytes.</param>
/// <param name="payload">Its payload.</param>
internal delegate void JournalRecordHandler(long sequence, long offset, ReadOnlySpan<byte> payload);
