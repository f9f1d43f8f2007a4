using System.Globalization;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Benchmarks;

/// <summary>
/// Runs each measure on Erlang/OTP (bench/erlang/bench.escript, through escript) and on Heirloom in one run on
/// one machine, and prints both with their ratio and the goal. Usage: <c>compare [measure ...]</c>. The process-scale
/// rows build a million processes unless CHAIN_LENGTH, STAR_SIZE or MONITOR_COUNT say otherwise (both sides read them).
/// </summary>
internal static class SideBySide
{
    /// <summary>One line of the table. <paramref name="Measure"/> names the Erlang measure that produces it (one
    /// measure may produce several lines, such as a median and a p99 from the same samples).</summary>
    private sealed record Row(string Name, string Measure, string Unit, string Goal, Func<Task<double>> Heirloom, Func<double, double, bool> Meets)
    {
        /// <summary>ConcurrentDictionary doing the same work, for the table measures.</summary>
        public Func<Task<double>>? Dictionary { get; init; }

        /// <summary>The goal, given Heirloom's, Erlang's and the dictionary's figures.</summary>
        public Func<double, double, double, bool>? MeetsWithDictionary { get; init; }
    }

    private static Row TableRow(string name, string goal, Func<double> heirloom, Func<double>? dictionary, Func<double, double, double, bool> meets, string unit = "ns") =>
        new(name, name, unit, goal, () => Task.FromResult(heirloom()), (_, _) => true)
        {
            Dictionary = dictionary is null ? null : () => Task.FromResult(dictionary()),
            MeetsWithDictionary = meets,
        };

    /// <summary>A table row whose Heirloom and dictionary figures come from one alternating run
    /// (<see cref="TableWorkloads.MedianPair"/>); <paramref name="setup"/> builds both measures.</summary>
    private static Row PairedTableRow(string name, string goal, Func<(Func<double> Heirloom, Func<double> Dictionary)> setup, Func<double, double, double, bool> meets)
    {
        var pair = new Lazy<(double Heirloom, double Dictionary)>(() =>
        {
            var (heirloom, dictionary) = setup();
            return TableWorkloads.MedianPair(heirloom, dictionary);
        });
        return TableRow(name, goal, () => pair.Value.Heirloom, () => pair.Value.Dictionary, meets);
    }

    private static readonly Lazy<Task<(double Median, double P99)>> RestartLatency =
        new(() => WithNode(n => BehaviourWorkloads.RestartLatencyAsync(n, 2000)));

    private static readonly Lazy<Task<(double Median, double P99)>> HandOffLatency =
        new(() => ManagerWorkloads.HandOffLatencyAsync(2000));

    private static readonly Lazy<Task<(double Kill, double Build)>> Chain = new(ProcessScaleWorkloads.ChainAsync);

    private static readonly Lazy<Task<(double Kill, double Build)>> Star = new(ProcessScaleWorkloads.StarAsync);

    private static readonly Lazy<Task<(double Kill, double Build)>> Monitors = new(ProcessScaleWorkloads.MonitorsAsync);

    private static readonly Row[] Rows =
    [
        new("ping_pong_round_trip", "ping_pong_round_trip", "ns", "<= 500 ns", () => WithNode(n => Measure.MedianAsync(200_000, ops => ProcessWorkloads.PingPongAsync(n, ops))), (h, _) => h <= 500),
        new("ping_pong_2_pairs", "ping_pong_2_pairs", "ns", ">= 3x Erlang's rate", () => WithNode(n => Measure.MedianAsync(400_000, ops => ProcessWorkloads.PingPongPairsAsync(n, 2, ops))), (h, e) => e / h >= 3),
        new("ping_pong_8_pairs", "ping_pong_8_pairs", "ns", ">= 3x Erlang's rate", () => WithNode(n => Measure.MedianAsync(400_000, ops => ProcessWorkloads.PingPongPairsAsync(n, 8, ops))), (h, e) => e / h >= 3),
        new("skynet_1m", "skynet_1m", "ms", "<= 400 ms, <= 0.07x Erlang", ProcessWorkloads.SkynetMillisecondsAsync, (h, e) => h <= 400 && h / e <= 0.07),
        new("spawn_exit_reply", "spawn_exit_reply", "ns", "<= 1000 ns", () => WithNode(n => Measure.MedianAsync(100_000, ops => ProcessWorkloads.SpawnExitAsync(n, ops))), (h, _) => h <= 1000),
        new("spawn_monitor_down", "spawn_monitor_down", "ns", "<= 1000 ns", () => WithNode(n => Measure.MedianAsync(100_000, ops => ProcessWorkloads.SpawnMonitorDownAsync(n, ops))), (h, _) => h <= 1000),
        new("memory_per_idle_process", "memory_per_idle_process", "B", "<= 400 B", () => ProcessWorkloads.MemoryPerIdleProcessAsync(100_000), (h, _) => h <= 400),
        new("gen_server_call", "gen_server_call", "ns", ">= 2x faster", () => WithNode(n => Measure.MedianAsync(100_000, ops => BehaviourWorkloads.GenServerCallAsync(n, ops))), (h, e) => e / h >= 2),
        new("restart_latency_median", "restart_latency", "ns", ">= 2x faster", async () => (await RestartLatency.Value).Median, (h, e) => e / h >= 2),
        new("restart_latency_p99", "restart_latency", "ns", "(reported)", async () => (await RestartLatency.Value).P99, (_, _) => true),
        new("handoff_latency_median", "handoff_latency", "ns", "<= 50 us", async () => (await HandOffLatency.Value).Median, (h, _) => h <= 50_000),
        new("handoff_latency_p99", "handoff_latency", "ns", "(reported)", async () => (await HandOffLatency.Value).P99, (_, _) => true),
        new("chain_1m_kill", "chain_1m_kill", "ms", "<= Erlang's time", async () => (await Chain.Value).Kill, (h, e) => h <= e),
        new("chain_1m_build", "chain_1m_kill", "ms", "(reported)", async () => (await Chain.Value).Build, (_, _) => true),
        new("star_1m_links", "star_1m_links", "ms", "<= Erlang's time", async () => (await Star.Value).Kill, (h, e) => h <= e),
        new("star_1m_build", "star_1m_links", "ms", "(reported)", async () => (await Star.Value).Build, (_, _) => true),
        new("monitors_1m", "monitors_1m", "ms", "<= Erlang's time", async () => (await Monitors.Value).Kill, (h, e) => h <= e),
        new("monitors_1m_build", "monitors_1m", "ms", "(reported)", async () => (await Monitors.Value).Build, (_, _) => true),
        PairedTableRow("set_insert_1m", "<= 2x dictionary", () => (() => TableWorkloads.TableInsert(TableType.Set, TableWorkloads.Shuffled), () => TableWorkloads.DictionaryInsert(TableWorkloads.Shuffled)), (h, _, d) => h <= 2 * d),
        PairedTableRow("set_lookup_1m_in_order", "<= 1.25x dictionary, >= 10x Erlang", () => SetLookups(TableWorkloads.Million, TableWorkloads.InOrder), SetLookupGoal),
        PairedTableRow("set_lookup_1m_shuffled", "<= 1.25x dictionary, >= 10x Erlang", () => SetLookups(TableWorkloads.Million, TableWorkloads.Shuffled), SetLookupGoal),
        PairedTableRow("set_lookup_1k", "<= 1.25x dictionary, >= 10x Erlang", () => SetLookups(1000, SmallKeys()), SetLookupGoal),
        TableRow("ordered_set_insert_1m_in_order", ">= 3x Erlang", () => TableWorkloads.Median5(() => TableWorkloads.TableInsert(TableType.OrderedSet, TableWorkloads.InOrder)), null, OrderedGoal),
        TableRow("ordered_set_insert_1m_shuffled", ">= 3x Erlang", () => TableWorkloads.Median5(() => TableWorkloads.TableInsert(TableType.OrderedSet, TableWorkloads.Shuffled)), null, OrderedGoal),
        TableRow("ordered_set_lookup_1m_in_order", ">= 3x Erlang", () => Lookup(TableType.OrderedSet, TableWorkloads.InOrder), null, OrderedGoal),
        TableRow("ordered_set_lookup_1m_shuffled", ">= 3x Erlang", () => Lookup(TableType.OrderedSet, TableWorkloads.Shuffled), null, OrderedGoal),
        TableRow("update_counter_hot_key", "<= 15 ns", UpdateCounter, null, (h, _, _) => h <= 15),
        TableRow("set_lookup_two_workers_speedup", ">= 1.7x", TwoThreads, null, (h, _, _) => h >= 1.7, unit: "x"),
        TableRow("memory_per_entry", "<= 1.5x dictionary", () => TableWorkloads.BytesPerEntry(() => TableWorkloads.Filled(TableType.Set, TableWorkloads.Million)), () => TableWorkloads.BytesPerEntry(() => TableWorkloads.FilledDictionary(TableWorkloads.Million)), (h, _, d) => h <= 1.5 * d, unit: "B"),
    ];

    private static bool SetLookupGoal(double heirloom, double erlang, double dictionary) => heirloom <= 1.25 * dictionary && erlang / heirloom >= 10;

    private static bool OrderedGoal(double heirloom, double erlang, double dictionary) => erlang / heirloom >= 3;

    private static double Lookup(TableType type, long[] keys)
    {
        var table = TableWorkloads.Filled(type, TableWorkloads.Million);
        return TableWorkloads.Median5(() => TableWorkloads.TableLookup(table, keys));
    }

    /// <summary>Lookups of <paramref name="keys"/> in a set and in a dictionary of the same <paramref name="size"/>.</summary>
    private static (Func<double> Heirloom, Func<double> Dictionary) SetLookups(int size, long[] keys)
    {
        var table = TableWorkloads.Filled(TableType.Set, size);
        var dictionary = TableWorkloads.FilledDictionary(size);
        return (() => TableWorkloads.TableLookup(table, keys), () => TableWorkloads.DictionaryLookup(dictionary, keys));
    }

    private static long[] SmallKeys() => Enumerable.Range(0, 1000).SelectMany(_ => TableWorkloads.Shuffled.Where(k => k <= 1000)).ToArray();

    private static double UpdateCounter()
    {
        var table = TableWorkloads.NewTable(TableType.Set);
        table.Insert(0, 0);
        return TableWorkloads.Median5(() => TableWorkloads.UpdateCounterHotKey(table, 1_000_000));
    }

    private static double TwoThreads()
    {
        var table = TableWorkloads.Filled(TableType.Set, TableWorkloads.Million);
        return TableWorkloads.Median5(() => TableWorkloads.TwoThreadSpeedup(table));
    }

    public static async Task<int> RunAsync(string[] only)
    {
        var rows = Rows.Where(r => only.Length == 0 || only.Contains(r.Name) || only.Contains(r.Measure)).ToArray();
        var erlang = ErlangTwin.Run("bench.escript", rows.Select(r => r.Measure).Distinct());
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; Erlang/OTP {ErlangTwin.Version()}");
        if (ProcessScaleWorkloads.NonDefaultSizes().ToArray() is { Length: > 0 } sizes)
        {
            // The process-scale rows keep their names (a million processes) whatever N ran; say which N did.
            Console.WriteLine($"Process-scale rows ran with {string.Join(", ", sizes)} instead of a million.");
        }

        Console.WriteLine();
        Console.WriteLine("| measure | Erlang/OTP | Heirloom | ConcurrentDictionary | Erlang / Heirloom | Heirloom / dictionary | goal | met |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var heirloom = await row.Heirloom();
            var theirs = erlang.GetValueOrDefault(row.Name, double.NaN);
            var dictionary = row.Dictionary is null ? double.NaN : await row.Dictionary();
            var met = row.MeetsWithDictionary?.Invoke(heirloom, theirs, dictionary) ?? row.Meets(heirloom, theirs);
            var dictionaryText = double.IsNaN(dictionary) ? "" : string.Create(CultureInfo.InvariantCulture, $"{dictionary:F1} {row.Unit}");
            var dictionaryRatio = double.IsNaN(dictionary) ? "" : string.Create(CultureInfo.InvariantCulture, $"{heirloom / dictionary:F2}x");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Name} | {theirs:F1} {row.Unit} | {heirloom:F1} {row.Unit} | {dictionaryText} | {theirs / heirloom:F2}x | {dictionaryRatio} | {row.Goal} | {(met ? "yes" : "no")} |"));
        }

        return 0;
    }

    private static async Task<T> WithNode<T>(Func<Node, Task<T>> measure)
    {
        await using var node = new Node();
        return await measure(node);
    }
}
