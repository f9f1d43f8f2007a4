using System.Diagnostics;

namespace Heirloom.Peers;

internal static class Timing
{
    public static double NanosecondsPer(long startTimestamp, int operations) =>
        Stopwatch.GetElapsedTime(startTimestamp).TotalNanoseconds / operations;

    public static double MillionPerSecond(long startTimestamp, long messages) =>
        messages / Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds / 1e6;

    public static double Microseconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;

    public static double Milliseconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    /// <summary>Skynet's expected sum over <paramref name="leaves"/> leaves numbered from zero.</summary>
    public static long SkynetSum(long leaves) => leaves * (leaves - 1) / 2;

    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException(what);
        }
    }

    /// <summary>Managed heap bytes after a full collection, once the thread pool is idle (actors started
    /// asynchronously have finished starting).</summary>
    public static async Task<long> SettledHeapAsync()
    {
        while (ThreadPool.PendingWorkItemCount > 0)
        {
            await Task.Delay(10);
        }

        await Task.Delay(100);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
