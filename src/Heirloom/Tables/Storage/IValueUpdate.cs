namespace Heirloom.Tables.Storage;

/// <summary>
/// An update applied to one key under its lock, as a struct so that a store's generic method is compiled for it and
/// the update inlined: counters are the hottest writes, and a delegate call per update is a measurable share of one.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal interface IValueUpdate<TKey, TValue>
{
    /// <summary>Says whether to store <paramref name="next"/>, given whether the key is there and its value.</summary>
    bool Apply(TKey key, bool found, TValue current, out TValue next);
}
