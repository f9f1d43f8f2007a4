namespace Heirloom.Tables.Storage;

/// <summary>An atomic update's decision: given whether the key is there and its value, whether to store
/// <paramref name="newValue"/>.</summary>
internal delegate bool UpdateFunc<TKey, TValue, TState>(TKey key, bool found, TValue current, TState state, out TValue newValue);
