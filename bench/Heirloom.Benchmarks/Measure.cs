using System.Diagnostics;

namespace Heirloom.Benchmarks;

/// <summary>The side-by-side harness's timing rule, the same as the Erlang script's: one warm-up batch of a
/// tenth of the size, then the median of 11 batches, in nanoseconds per operation.</summary>
internal static class Measure
{
    public static async Task<double> MedianAsync(int operations, Func<int, Task<double>> batch)
    {
        await batch(Math.Max(1, operations / 10));
        var times = new List<double>();
        for (var i = 0; i < 11; i++)
        {
            times.Add(await batch(operations));
        }

        times.Sort();
        return times[5];
    }

    public static double NanosecondsPerOperation(long startTimestamp, int operations) =>
        Stopwatch.GetElapsedTime(startTimestamp).TotalNanoseconds / operations;
}
