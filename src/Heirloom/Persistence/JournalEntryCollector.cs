namespace Heirloom.Persistence;

/// <summary>Gathers a record's entries as codec bytes, for readers outside the table (tools, replicas).</summary>
internal struct JournalEntryCollector() : IJournalEntrySink
{
    private List<byte[]>? _values;

    public List<JournalEntry> Entries { get; } = [];

    /// <summary>Decodes a record's payload into its entries.</summary>
    /// <exception cref="InvalidDataException">The payload is not a well-formed record.</exception>
    public static List<JournalEntry> Decode(ReadOnlySpan<byte> payload)
    {
        var collector = new JournalEntryCollector();
        JournalRecordFormat.Decode(payload, ref collector);
        return collector.Entries;
    }

    public void KeyState(ReadOnlySpan<byte> key, int values)
    {
        _values = new List<byte[]>(values);
        Entries.Add(new JournalEntry(key.ToArray(), _values));
    }

    public readonly void Value(ReadOnlySpan<byte> value) => _values!.Add(value.ToArray());

    public readonly void KeyStateEnd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values)
    {
    }

    public readonly void Cleared() => Entries.Add(new JournalEntry(null, []));
}
