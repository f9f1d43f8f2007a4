namespace Heirloom.Tables.Storage;

/// <summary>What a storage layer can do, advertised so that a table never needs to know which engine or wrapper it
/// holds. A wrapping layer advertises its own capabilities plus those of the layer it wraps.</summary>
[Flags]
internal enum StoreCapabilities
{
    /// <summary>Nothing beyond the operations every store has (a hash engine: keys in hash order).</summary>
    None = 0,

    /// <summary>Keys are kept sorted: <see cref="TableStore{TKey, TValue}.Range"/> is supported and traversals run in key order.</summary>
    Ordered = 1,

    /// <summary>Every write is journaled before it is acknowledged.</summary>
    Journaled = 2,

    /// <summary>Reads take no lock and are safe from any thread at any time, so a table whose every process may read
    /// calls the engine's reads directly, without its access check.</summary>
    LockFreeReads = 4,
}
