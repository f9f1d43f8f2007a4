namespace Heirloom.Persistence;

/// <summary>
/// Receives what a journal record's payload holds, decoded once by <see cref="JournalRecord.ReadPayload"/>, in order (a
/// batch's entries one by one): each key's whole state, or the table emptied. A replica that stores key states stores
/// <c>values</c> as it is, and a <see cref="ReplicaStandby{TKey, TValue}"/> applies it as it is.
/// </summary>
public interface IJournalPayloadReader
{
    /// <summary>A key's whole state now. Both spans are valid during the call only.</summary>
    /// <param name="key">The key's codec bytes.</param>
    /// <param name="values">Its values, each value's codec bytes behind their length (4 bytes, little-endian); empty
    /// when the key is gone.</param>
    void KeyState(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values);

    /// <summary>The table was emptied.</summary>
    void Cleared();
}
