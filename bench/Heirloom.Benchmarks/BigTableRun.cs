using System.Diagnostics;
using System.Runtime;

namespace Heirloom.Benchmarks;

/// <summary>The big-table measure on one store, in the process it runs in: fill, then updates, then lookups; the
/// collector's pauses over the updates and lookups, and the managed heap's growth over the fill.</summary>
internal static class BigTableRun
{
    public static async Task<BigTableResult> MeasureAsync<TStore>(string name, TStore store, BigTableWorkload workload)
        where TStore : IBigTableStore
    {
        using var listener = new GcPauseListener();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var fill = Time(() => Fill(store, workload));
        var managed = GC.GetTotalMemory(forceFullCollection: true) - before;

        // The listener places pauses in the window by their time stamps, on the event clock; a gap keeps the full
        // collections just made out of the window even if that clock and DateTime.UtcNow disagree by a little.
        await Task.Delay(200);
        var (pausedBefore, collectionsBefore, from) = (GC.GetTotalPauseDuration(), Collections(), DateTime.UtcNow);
        var phases = Stopwatch.StartNew();
        var update = Time(() => Update(store, workload));
        var lookup = Time(() => Lookup(store, workload));
        phases.Stop();
        var (paused, collections, to) = (GC.GetTotalPauseDuration() - pausedBefore, Collections(), DateTime.UtcNow);
        var collected = collections.Zip(collectionsBefore, (after, earlier) => after - earlier).ToArray();

        // Every collection suspends the runtime at least once; wait until the listener has that many pauses.
        await listener.WaitForAsync(from, to, collected[0]);
        var pauses = listener.PausesBetween(from, to);
        return new BigTableResult(
            name,
            GcMode(),
            fill.TotalMilliseconds,
            update.TotalNanoseconds / workload.UpdateKeys.Length,
            lookup.TotalNanoseconds / workload.LookupKeys.Length,
            100 * paused / phases.Elapsed,
            paused.TotalMilliseconds,
            pauses.Count == 0 ? 0 : pauses.Max().TotalMilliseconds,
            collected,
            pauses.Count,
            pauses.Sum(p => p.TotalMilliseconds),
            pauses.Count == 0 ? 0 : pauses.Order().ElementAt(pauses.Count / 2).TotalMilliseconds,
            pauses.Count(p => p.TotalMilliseconds > 10),
            managed / (double)workload.Entries,
            store.NativeBytes / (double)workload.Entries);
    }

    /// <summary>The collector this process runs with, from the project's settings (runtimeconfig).</summary>
    public static string GcMode() => $"{(GCSettings.IsServerGC ? "server" : "workstation")}, {GCSettings.LatencyMode}";

    private static void Fill<TStore>(TStore store, BigTableWorkload workload)
        where TStore : IBigTableStore
    {
        for (var i = 0; i < workload.Entries; i++)
        {
            store.Put(i + 1, workload.FillValue(i));
        }
    }

    private static void Update<TStore>(TStore store, BigTableWorkload workload)
        where TStore : IBigTableStore
    {
        var keys = workload.UpdateKeys;
        for (var i = 0; i < keys.Length; i++)
        {
            store.Put(keys[i], workload.UpdateValue(i));
        }
    }

    private static void Lookup<TStore>(TStore store, BigTableWorkload workload)
        where TStore : IBigTableStore
    {
        long sum = 0;
        foreach (var key in workload.LookupKeys)
        {
            sum += store.Get(key)?.Length ?? 0;
        }

        // Every key exists, so the sum of the lengths is at least 16 per lookup: checked, and kept.
        Measure.Consume(sum >= 16L * workload.LookupKeys.Length ? sum : throw new InvalidOperationException("A lookup found no value."));
    }

    private static TimeSpan Time(Action phase)
    {
        var start = Stopwatch.GetTimestamp();
        phase();
        return Stopwatch.GetElapsedTime(start);
    }

    private static int[] Collections() => [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
}
