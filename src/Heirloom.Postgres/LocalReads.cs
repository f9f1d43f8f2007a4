namespace Heirloom.Postgres;

/// <summary>
/// Reads of one clustered table's data on a node that runs its server: the owner's table while this node owns it, the
/// standby's copy otherwise. The router reads through it; it never calls the table's worker.
/// </summary>
internal abstract class LocalReads
{
    /// <summary>The table's key type.</summary>
    public abstract Type KeyType { get; }

    /// <summary>The table's value type.</summary>
    public abstract Type ValueType { get; }

    /// <summary>The name of the codec keys travel through.</summary>
    public abstract string KeyCodecName { get; }

    /// <summary>The name of the codec values travel through.</summary>
    public abstract string ValueCodecName { get; }

    /// <summary>The codec bytes of a key's values in the owner's table, or null when this node does not own the table
    /// for the whole of the read.</summary>
    /// <param name="key">The key's codec bytes.</param>
    public abstract byte[][]? ReadOwned(ReadOnlySpan<byte> key);
}
