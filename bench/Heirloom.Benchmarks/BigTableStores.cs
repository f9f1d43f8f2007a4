using System.Collections.Concurrent;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>The .NET stores the big-table measure runs, by name; each runs in a child process of its own. A store is
/// one entry: it makes the store on the node and runs the measure on it.</summary>
internal static class BigTableStores
{
    private static readonly TableOptions Options = new() { Type = TableType.Set, Access = TableAccess.Public };

    // The off-heap table's objects live outside the managed heap, so the memory its TableInfo reports is added to the
    // heap's growth.
    public static IReadOnlyDictionary<string, Func<Node, BigTableWorkload, Task<BigTableResult>>> All { get; } =
        new Dictionary<string, Func<Node, BigTableWorkload, Task<BigTableResult>>>
        {
            ["off-heap"] = (node, w) => BigTableRun.MeasureAsync("off-heap", new TableStore(OffHeapTable.New<long, string>(node, Options), nativeMemory: true), w),
            ["in-heap"] = (node, w) => BigTableRun.MeasureAsync("in-heap", new TableStore(Table.New<long, string>(node, Options)), w),
            ["dictionary"] = (_, w) => BigTableRun.MeasureAsync("dictionary", new DictionaryStore(new ConcurrentDictionary<long, string>()), w),
        };
}
