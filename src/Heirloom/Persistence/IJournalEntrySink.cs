namespace Heirloom.Persistence;

/// <summary>Receives the entries <see cref="JournalRecordFormat.Decode{TSink}"/> finds in a record, in order.</summary>
internal interface IJournalEntrySink
{
    /// <summary>A key's whole state follows: its codec bytes, then <paramref name="values"/> calls to <see cref="Value"/>.</summary>
    void KeyState(ReadOnlySpan<byte> key, int values);

    /// <summary>One value of the key last given to <see cref="KeyState"/>.</summary>
    void Value(ReadOnlySpan<byte> value);

    /// <summary>The table was emptied.</summary>
    void Cleared();
}
