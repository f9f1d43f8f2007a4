using System.Collections.Concurrent;
using System.Diagnostics;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>Heirloom's and ConcurrentDictionary's side of the table measures, each the same work as its Erlang twin
/// in bench/erlang/bench.escript: {I, I} objects, long keys and values, a public table.</summary>
internal static class TableWorkloads
{
    public const int Million = 1_000_000;

    private static readonly Node TableNode = new();

    public static long[] InOrder { get; } = Enumerable.Range(1, Million).Select(i => (long)i).ToArray();

    public static long[] Shuffled { get; } = Shuffle(InOrder, 42);

    public static Table<long, long> NewTable(TableType type) =>
        Table.New<long, long>(TableNode, new TableOptions { Type = type, Access = TableAccess.Public });

    public static Table<long, long> Filled(TableType type, int count)
    {
        var table = NewTable(type);
        for (long k = 1; k <= count; k++)
        {
            table.Insert(k, k);
        }

        return table;
    }

    public static ConcurrentDictionary<long, long> FilledDictionary(int count)
    {
        var dictionary = new ConcurrentDictionary<long, long>();
        for (long k = 1; k <= count; k++)
        {
            dictionary[k] = k;
        }

        return dictionary;
    }

    public static double TableInsert(TableType type, long[] keys)
    {
        var table = NewTable(type);
        var start = Stopwatch.GetTimestamp();
        foreach (var key in keys)
        {
            table.Insert(key, key);
        }

        var result = Measure.NanosecondsPerOperation(start, keys.Length);
        table.Delete();
        return result;
    }

    public static double DictionaryInsert(long[] keys)
    {
        var dictionary = new ConcurrentDictionary<long, long>();
        var start = Stopwatch.GetTimestamp();
        foreach (var key in keys)
        {
            dictionary[key] = key;
        }

        return Measure.NanosecondsPerOperation(start, keys.Length);
    }

    public static double TableLookup(Table<long, long> table, long[] keys)
    {
        var start = Stopwatch.GetTimestamp();
        long sum = 0;
        foreach (var key in keys)
        {
            table.TryGetValue(key, out var value);
            sum += value;
        }

        var result = Measure.NanosecondsPerOperation(start, keys.Length);
        Measure.Consume(sum);
        return result;
    }

    public static double DictionaryLookup(ConcurrentDictionary<long, long> dictionary, long[] keys)
    {
        var start = Stopwatch.GetTimestamp();
        long sum = 0;
        foreach (var key in keys)
        {
            dictionary.TryGetValue(key, out var value);
            sum += value;
        }

        var result = Measure.NanosecondsPerOperation(start, keys.Length);
        Measure.Consume(sum);
        return result;
    }

    public static double UpdateCounterHotKey(Table<long, long> table, int operations)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < operations; i++)
        {
            table.UpdateCounter(0, 1L);
        }

        return Measure.NanosecondsPerOperation(start, operations);
    }

    /// <summary>Aggregate lookup throughput of two threads over that of one.</summary>
    public static double TwoThreadSpeedup(Table<long, long> table)
    {
        var one = Time(1);
        var two = Time(2);
        return one / two * 2;

        double Time(int threads)
        {
            var start = Stopwatch.GetTimestamp();
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() => TableLookup(table, Shuffled))).ToArray();
            foreach (var worker in workers)
            {
                worker.Start();
            }

            foreach (var worker in workers)
            {
                worker.Join();
            }

            return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
        }
    }

    public static double BytesPerEntry(Func<object> fill)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var filled = fill();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(filled);
        return (after - before) / (double)Million;
    }

    /// <summary>Runs a synchronous measure five times after a warm-up and returns the median.</summary>
    public static double Median5(Func<double> measure)
    {
        var warmUp = Stopwatch.StartNew();
        do
        {
            measure();
        }
        while (warmUp.Elapsed < TimeSpan.FromSeconds(2));

        var times = Enumerable.Range(0, 5).Select(_ => measure()).Order().ToArray();
        return times[2];
    }

    /// <summary>Runs two synchronous measures in alternation after a warm-up of both, eleven times each, and returns
    /// each one's median: a ratio of the two is then not moved by the machine slowing down between them.</summary>
    public static (double First, double Second) MedianPair(Func<double> first, Func<double> second)
    {
        var warmUp = Stopwatch.StartNew();
        do
        {
            first();
            second();
        }
        while (warmUp.Elapsed < TimeSpan.FromSeconds(2));

        var firsts = new double[11];
        var seconds = new double[11];
        for (var i = 0; i < firsts.Length; i++)
        {
            firsts[i] = first();
            seconds[i] = second();
        }

        Array.Sort(firsts);
        Array.Sort(seconds);
        return (firsts[5], seconds[5]);
    }

    private static long[] Shuffle(long[] keys, int seed)
    {
        var shuffled = keys.ToArray();
        new Random(seed).Shuffle(shuffled);
        return shuffled;
    }
}
