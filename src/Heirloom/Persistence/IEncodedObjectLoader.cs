namespace Heirloom.Persistence;

/// <summary>An engine that keeps objects as their codecs' bytes, and so takes a snapshot's objects without decoding
/// them. Loading happens before the table exists, from one thread.</summary>
internal interface IEncodedObjectLoader
{
    /// <summary>Inserts an object given as its key's and value's encoded bytes, as an insert of the decoded object
    /// would (a set replaces, a bag adds).</summary>
    /// <param name="key">The key's bytes, valid only during the call.</param>
    /// <param name="value">The value's bytes, valid only during the call.</param>
    void LoadEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Makes room for about <paramref name="count"/> objects before they are loaded, so that loading them
    /// does not grow the engine step by step.</summary>
    /// <param name="count">The number of objects the snapshot's header gives.</param>
    void Reserve(long count);

    /// <summary>Finishes loading: every object given to <see cref="LoadEncoded"/> is in the engine when it returns. Called
    /// once, after the last object, also when loading failed part way.</summary>
    void EndLoading();
}
