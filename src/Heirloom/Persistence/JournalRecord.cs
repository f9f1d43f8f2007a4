namespace Heirloom.Persistence;

/// <summary>One journal record: what one acknowledged write (or one atomic batch) did to the table.</summary>
/// <param name="Sequence">The record's sequence; each record's is one more than the one before.</param>
/// <param name="Bytes">Its size in the file, header included; a record made from its payload, the payload's size.</param>
/// <param name="IsBatch">Whether it was written as one batch of entries, replayed all or none.</param>
/// <param name="Entries">Its entries, in order; for a record made from its payload, decoded when first read.</param>
public sealed record JournalRecord(long Sequence, int Bytes, bool IsBatch, IReadOnlyList<JournalEntry> Entries)
{
    /// <summary>The record's payload as the journal writes it, when the record was made from it
    /// (<see cref="FromPayload"/>: a replicated table hands its writes to its replica so); empty otherwise. Store it as
    /// it is, and decode it with <see cref="ReadPayload"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>A record of a payload as the journal writes it; nothing is decoded until <see cref="Entries"/> is read.</summary>
    /// <param name="sequence">The record's sequence.</param>
    /// <param name="payload">The payload, the record's to keep.</param>
    public static JournalRecord FromPayload(long sequence, ReadOnlyMemory<byte> payload) =>
        new(sequence, payload.Length, JournalRecordFormat.IsBatch(payload.Span), new PayloadEntries(payload)) { Payload = payload };

    /// <summary>Decodes a payload as the journal writes it, once, handing each entry to <paramref name="reader"/> in
    /// order, without copying keys or values.</summary>
    /// <param name="payload">A record's payload (<see cref="Payload"/>).</param>
    /// <param name="reader">Receives the entries.</param>
    /// <exception cref="InvalidDataException">The payload is not one well-formed record.</exception>
    public static void ReadPayload(ReadOnlySpan<byte> payload, IJournalPayloadReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var sink = new PayloadReaderSink(reader);
        JournalRecordFormat.Decode(payload, ref sink);
    }

    private readonly struct PayloadReaderSink(IJournalPayloadReader reader) : IJournalEntrySink
    {
        public void KeyState(ReadOnlySpan<byte> key, int values)
        {
        }

        public void Value(ReadOnlySpan<byte> value)
        {
        }

        public void KeyStateEnd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values) => reader.KeyState(key, values);

        public void Cleared() => reader.Cleared();
    }

    /// <summary>A payload's entries, decoded when first read (tools read them; replicas read the payload).</summary>
    private sealed class PayloadEntries(ReadOnlyMemory<byte> payload) : IReadOnlyList<JournalEntry>
    {
        private List<JournalEntry>? _entries;

        private List<JournalEntry> Entries => LazyInitializer.EnsureInitialized(ref _entries, () => JournalEntryCollector.Decode(payload.Span));

        public JournalEntry this[int index] => Entries[index];

        public int Count => Entries.Count;

        public IEnumerator<JournalEntry> GetEnumerator() => Entries.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
