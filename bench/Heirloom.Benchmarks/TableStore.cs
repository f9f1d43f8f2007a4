using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>A Heirloom table as a big-table store. <paramref name="nativeMemory"/> says that the table keeps its
/// objects outside the managed heap, so that its own estimate of its size (<see cref="Table.GetInfo"/>) is memory the
/// managed heap's growth does not show; for an in-heap table that estimate would count the heap twice.</summary>
internal readonly struct TableStore(Table<long, string> table, bool nativeMemory = false) : IBigTableStore
{
    public void Put(long key, string value) => table.Insert(key, value);

    public string? Get(long key) => table.TryGetValue(key, out var value) ? value : null;

    public long NativeBytes => nativeMemory ? table.GetInfo()?.Memory ?? 0 : 0;
}
