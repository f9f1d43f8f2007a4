namespace Heirloom.Persistence;

/// <summary>
/// Reads a durable table's journal segments (<c>journal-&lt;first sequence&gt;.log</c>) record by record, checking each
/// record's checksum and sequence and decoding its entries to codec bytes: for tools that inspect, verify or dump a
/// table's files without opening it.
/// </summary>
public static class JournalReader
{
    /// <summary>Whether a path names a journal segment, and the sequence of its first record.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="firstSequence">The first record's sequence, when it does.</param>
    public static bool TryGetFirstSequence(string path, out long firstSequence)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var first = DurableFiles.SegmentFirstSequence(path);
        firstSequence = first ?? 0;
        return first is not null;
    }

    /// <summary>
    /// Reads a segment, handing each record to <paramref name="onRecord"/> in order. With
    /// <paramref name="allowTornTail"/> (right for the newest segment), a last record cut short by an interrupted
    /// write ends the read; any other damage throws.
    /// </summary>
    /// <param name="path">A segment's path; its name gives its first sequence.</param>
    /// <param name="allowTornTail">Whether a torn last record is expected rather than damage.</param>
    /// <param name="onRecord">Receives each record, decoded; null to only check the records.</param>
    /// <returns>What the segment holds.</returns>
    /// <exception cref="ArgumentException">The file name is not a segment's.</exception>
    /// <exception cref="JournalCorruptedException">A record is damaged, out of sequence, or not a well-formed entry.</exception>
    public static JournalSegmentSummary Read(string path, bool allowTornTail = true, Action<JournalRecord>? onRecord = null)
    {
        if (!TryGetFirstSequence(path, out var first))
        {
            throw new ArgumentException($"'{path}' is not a journal segment: its name must be journal-<first sequence>.log.", nameof(path));
        }

        return Journal.Scan(path, first, allowTornTail, _ => (sequence, offset, payload) =>
        {
            List<JournalEntry> entries;
            try
            {
                entries = JournalEntryCollector.Decode(payload);
            }
            catch (InvalidDataException e)
            {
                throw new JournalCorruptedException(path, offset, $"record {sequence} is not a well-formed entry: {e.Message}", e);
            }

            onRecord?.Invoke(new JournalRecord(sequence, payload.Length + Journal.FramingLength, JournalRecordFormat.IsBatch(payload), entries));
        });
    }
}
