using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>BenchmarkDotNet's view of table lookups and updates against ConcurrentDictionary, on 1,000 and 1,000,000
/// keys; each invocation does 1,000 operations on shuffled keys.</summary>
[MemoryDiagnoser]
public class TableBenchmarks
{
    private const int Batch = 1_000;
    private Table<long, long> _set = null!;
    private Table<long, long> _ordered = null!;
    private Table<long, long> _counters = null!;
    private ConcurrentDictionary<long, long> _dictionary = null!;
    private long[] _keys = null!;

    [Params(1_000, 1_000_000)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _set = TableWorkloads.Filled(TableType.Set, Size);
        _ordered = TableWorkloads.Filled(TableType.OrderedSet, Size);
        _dictionary = TableWorkloads.FilledDictionary(Size);
        _counters = TableWorkloads.NewTable(TableType.Set);
        _counters.Insert(0, 0);
        var random = new Random(42);
        _keys = Enumerable.Range(0, Batch).Select(_ => (long)random.Next(1, Size + 1)).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long DictionaryLookup()
    {
        long sum = 0;
        foreach (var key in _keys)
        {
            _dictionary.TryGetValue(key, out var value);
            sum += value;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long SetLookup()
    {
        long sum = 0;
        foreach (var key in _keys)
        {
            _set.TryGetValue(key, out var value);
            sum += value;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long OrderedSetLookup()
    {
        long sum = 0;
        foreach (var key in _keys)
        {
            _ordered.TryGetValue(key, out var value);
            sum += value;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long UpdateCounterHotKey()
    {
        long last = 0;
        for (var i = 0; i < Batch; i++)
        {
            last = _counters.UpdateCounter(0, 1L);
        }

        return last;
    }
}
