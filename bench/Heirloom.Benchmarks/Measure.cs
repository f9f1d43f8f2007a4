using System.Diagnostics;

namespace Heirloom.Benchmarks;

/// <summary>The side-by-side harness's timing rule: warm up, then the median of 11 batches, in nanoseconds per
/// operation. Erlang's twin warms up with one batch a tenth of the size (its JIT compiles at load); .NET's tiered JIT
/// reaches its optimised code only after about a second of running, so Heirloom warms up for two seconds.</summary>
internal static class Measure
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    // Where a measured loop leaves its result, so that the JIT cannot drop the reads the loop exists to time
    // (GC.KeepAlive of a boxed value does not stop it).
    private static long s_sink;

    public static async Task<double> MedianAsync(int operations, Func<int, Task<double>> batch)
    {
        var warmUp = Stopwatch.StartNew();
        do
        {
            await batch(Math.Max(1, operations / 10));
        }
        while (warmUp.Elapsed < WarmUp);

        var times = new List<double>();
        for (var i = 0; i < 11; i++)
        {
            times.Add(await batch(operations));
        }

        times.Sort();
        return times[5];
    }

    /// <summary>Keeps a measured loop's result, and with it the work that computed it.</summary>
    public static void Consume(long result) => Volatile.Write(ref s_sink, result);

    public static double NanosecondsPerOperation(long startTimestamp, int operations) =>
        Stopwatch.GetElapsedTime(startTimestamp).TotalNanoseconds / operations;
}
