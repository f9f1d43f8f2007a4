namespace Heirloom.Persistence;

/// <summary>Receives the entries <see cref="JournalRecordFormat.Decode{TSink}"/> finds in a record, in order.</summary>
internal interface IJournalEntrySink
{
    /// <summary>A key's whole state follows: its codec bytes, then <paramref name="values"/> calls to <see cref="Value"/>.</summary>
    void KeyState(ReadOnlySpan<byte> key, int values);

    /// <summary>One value of the key last given to <see cref="KeyState"/>.</summary>
    void Value(ReadOnlySpan<byte> value);

    /// <summary>The key given to <see cref="KeyState"/> again, after its values, with the values as the payload frames
    /// them (each behind its 4-byte little-endian length): what a replica stores as the key's state, uncopied.</summary>
    void KeyStateEnd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values);

    /// <summary>The table was emptied.</summary>
    void Cleared();
}
