using System.Collections.Concurrent;

namespace Heirloom.Benchmarks;

/// <summary>A <see cref="ConcurrentDictionary{TKey, TValue}"/> as a big-table store: the baseline a .NET program would
/// use without Heirloom.</summary>
internal readonly struct DictionaryStore(ConcurrentDictionary<long, string> dictionary) : IBigTableStore
{
    public void Put(long key, string value) => dictionary[key] = value;

    public string? Get(long key) => dictionary.TryGetValue(key, out var value) ? value : null;

    public long NativeBytes => 0;
}
