namespace Heirloom.Benchmarks;

/// <summary>A store the big-table measure runs: <c>long</c> keys, <c>string</c> values. Implemented by structs, so that
/// the measure, generic over the store, is compiled for each and calls it without an interface dispatch.</summary>
internal interface IBigTableStore
{
    /// <summary>Inserts or replaces the key's value.</summary>
    void Put(long key, string value);

    /// <summary>The key's value, or null when it has none.</summary>
    string? Get(long key);

    /// <summary>Bytes the store holds outside the managed heap, as it reports them; 0 for a store that holds none.</summary>
    long NativeBytes { get; }
}
