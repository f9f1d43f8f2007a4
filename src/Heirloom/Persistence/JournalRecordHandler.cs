namespace Heirloom.Persistence;

/// <summary>Receives one journal record's payload during a scan.</summary>
/// <param name="sequence">The record's sequence.</param>
/// <param name="payload">Its payload.</param>
internal delegate void JournalRecordHandler(long sequence, ReadOnlySpan<byte> payload);
