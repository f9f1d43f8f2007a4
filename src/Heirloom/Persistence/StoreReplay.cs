using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>Applies decoded journal entries to a store during recovery: each key-state entry sets its key to exactly
/// the values it lists, a cleared entry empties the store.</summary>
internal struct StoreReplay<TKey, TValue>(TableStore<TKey, TValue> store, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec) : IJournalEntrySink
    where TKey : notnull
{
    private TKey? _key;

    public void KeyState(ReadOnlySpan<byte> key, int values)
    {
        _key = keyCodec.Read(key);
        store.Take(_key);
    }

    public readonly void Value(ReadOnlySpan<byte> value) => store.Insert(_key!, valueCodec.Read(value));

    public readonly void KeyStateEnd(ReadOnlySpan<byte> key, ReadOnlySpan<byte> values)
    {
    }

    public readonly void Cleared() => store.Release();
}
