using System.Globalization;

namespace Heirloom.Benchmarks;

/// <summary>Prints the big-table run: one table with every store and ETS, then each .NET store's ratios to ETS and to
/// the in-heap table.</summary>
internal static class BigTableReport
{
    private const string InHeap = "in-heap";

    public static void Print(int entries, int operations, IReadOnlyList<BigTableResult> results, IReadOnlyDictionary<string, double> ets)
    {
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Erlang/OTP {ErlangTwin.Version()}");
        Console.WriteLine(Text($"{entries:N0} entries (long keys, string values of 16-64 characters), {operations:N0} updates, {operations:N0} lookups; each .NET store in a process of its own."));
        Console.WriteLine($"Collector: {string.Join("; ", results.Select(r => $"{r.Store} {r.GcMode}").Distinct())}.");
        Console.WriteLine();
        Console.WriteLine("| store | fill | update | lookup | GC time, updates + lookups | longest GC pause | collections gen0/1/2 | bytes per entry |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var native = r.NativeBytesPerEntry > 0 ? Text($" ({r.ManagedBytesPerEntry:F1} managed + {r.NativeBytesPerEntry:F1} native)") : "";
            Console.WriteLine(Text(
                $"| {r.Store} | {r.FillMilliseconds:F0} ms | {r.UpdateNanoseconds:F1} ns | {r.LookupNanoseconds:F1} ns | {r.GcPercent:F1} % | {r.LongestPauseMilliseconds:F1} ms | {string.Join("/", r.Collections)} | {r.BytesPerEntry:F1} B{native} |"));
        }

        Console.WriteLine(Text(
            $"| ETS | {ets["fill_ms"]:F0} ms | {ets["update_ns"]:F1} ns | {ets["lookup_ns"]:F1} ns | (no collector) | | | {ets["bytes_per_entry"]:F1} B |"));
        Console.WriteLine();
        PrintRatios(results, ets);
        Console.WriteLine();
        foreach (var r in results)
        {
            // The listener's pauses against the runtime's own total: close, or a pause was missed.
            Console.WriteLine(Text($"{r.Store}: pauses seen by the listener over the updates and lookups: {r.ListenedPauses}, {r.ListenedPauseMilliseconds:F1} ms in all, median {r.MedianPauseMilliseconds:F2} ms, {r.PausesOver10Milliseconds} over 10 ms; GC.GetTotalPauseDuration grew by {r.PausedMilliseconds:F1} ms."));
        }
    }

    private static void PrintRatios(IReadOnlyList<BigTableResult> results, IReadOnlyDictionary<string, double> ets)
    {
        var inHeap = results.FirstOrDefault(r => r.Store == InHeap);
        Console.WriteLine("| store | update / ETS | lookup / ETS | bytes per entry / ETS | lookup / in-heap |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var r in results)
        {
            var againstInHeap = inHeap is null ? "" : Text($"{r.LookupNanoseconds / inHeap.LookupNanoseconds:F2}x");
            Console.WriteLine(Text(
                $"| {r.Store} | {r.UpdateNanoseconds / ets["update_ns"]:F2}x | {r.LookupNanoseconds / ets["lookup_ns"]:F2}x | {r.BytesPerEntry / ets["bytes_per_entry"]:F2}x | {againstInHeap} |"));
        }
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
