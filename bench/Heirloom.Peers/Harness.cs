using System.Diagnostics;
using System.Globalization;

namespace Heirloom.Peers;

/// <summary>
/// Runs every row on every runtime in one process, interleaved: a warm-up round, then each round runs each row once
/// on each runtime (the runtimes' order rotating from round to round), so that a change in the machine's load falls
/// on all of them alike. Prints the medians and the median of the per-round ratios.
/// </summary>
internal sealed class Harness(IPeer[] peers, Sizes sizes, int rounds, string? only)
{
    private readonly Dictionary<(Row, IPeer), List<double>> _values = [];

    // The restart rows' median and p99 come from the same samples: one sampling per runtime and round.
    private readonly Dictionary<IPeer, Task<double[]>> _restarts = [];

    private Row[] Rows => only is null ? AllRows : AllRows.Where(r => r.Pattern == only).ToArray();

    private Row[] AllRows { get; } =
    [
        new("ping-pong, 1 pair", "ping", "ns/round trip", false, (p, s) => p.PingPongAsync(s.PingPongRoundTrips)) { Batches = 3 },
        new("ping-pong, 8 pairs", "ping", "M msgs/s", true, (p, s) => p.PingPongPairsAsync(8, s.PairsRoundTrips)) { Batches = 3 },
        new("spawn + first message + stop", "spawn", "ns/actor", false, (p, s) => p.SpawnAsync(p is OrleansPeer ? s.OrleansSpawns : s.Spawns)) { Batches = 3 },
        new("Skynet", "skynet", "ms", false, (p, s) => p.SkynetAsync(p is OrleansPeer ? s.OrleansSkynetLeaves : s.SkynetLeaves)),
        new("call from outside", "call", "ns/call", false, (p, s) => p.CallFromOutsideAsync(s.Calls)) { Batches = 3 },
        new("supervised restart, median", "restart", "us", false, null!),
        new("supervised restart, p99", "restart", "us", false, null!),
        new("memory per idle actor", "memory", "B", false, (p, s) => p.MemoryPerIdleActorAsync(p is OrleansPeer ? s.OrleansIdleActors : s.IdleActors)),
        new("state survives a crash", "state", "ms", false, (p, s) => p.StateAfterCrashAsync(s.Entries)),
    ];

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public async Task RunAsync()
    {
        var total = Stopwatch.StartNew();
        await RoundAsync(0, Sizes.WarmUp, record: false);
        for (var round = 1; round <= rounds; round++)
        {
            await RoundAsync(round, sizes, record: true);
        }

        await Console.Error.WriteLineAsync($"done in {total.Elapsed.TotalSeconds:F0} s");
    }

    private async Task RoundAsync(int round, Sizes sizes, bool record)
    {
        _restarts.Clear();
        foreach (var row in Rows)
        {
            for (var i = 0; i < peers.Length; i++)
            {
                var peer = peers[(i + round) % peers.Length];
                var value = await MeasureAsync(row, peer, sizes);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"round {round} | {row.Name} | {peer.Name}: {value:F1} {row.Unit} | load {LoadAverage()}"));
                if (record)
                {
                    Values(row, peer).Add(value);
                }
            }
        }
    }

    private async Task<double> MeasureAsync(Row row, IPeer peer, Sizes sizes)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        try
        {
            if (row.Pattern != "restart")
            {
                // A batch of the short rows lasts tens of milliseconds, within the reach of one scheduling hiccup:
                // their value in a round is the median of three batches.
                var batches = new List<double>();
                for (var i = 0; i < row.Batches; i++)
                {
                    batches.Add(await row.Measure(peer, sizes));
                }

                return Median(batches);
            }

            if (!_restarts.TryGetValue(peer, out var samples))
            {
                _restarts[peer] = samples = peer.RestartAsync(sizes.Restarts);
            }

            var times = (await samples).Order().ToArray();
            return row.Name.EndsWith("p99", StringComparison.Ordinal) ? times[times.Length * 99 / 100] : times[times.Length / 2];
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"{peer.Name} failed {row.Name}: {e.GetType().Name}: {e.Message}");
            return double.NaN;
        }
    }

    private List<double> Values(Row row, IPeer peer)
    {
        if (!_values.TryGetValue((row, peer), out var list))
        {
            _values[(row, peer)] = list = [];
        }

        return list;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public void Print(string loadBefore, string loadAfter)
    {
        var heirloom = peers[0];
        var others = peers.Skip(1).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average {loadBefore} before, {loadAfter} after"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Rounds: {rounds} after one warm-up round; sizes: {sizes}"));
        Console.WriteLine();
        foreach (var key in Rows.Select(r => r.Pattern).Distinct())
        {
            Console.WriteLine($"Pattern for {key}:");
            foreach (var peer in peers)
            {
                Console.WriteLine($"- {peer.Name}: {peer.Patterns[key]}");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| row | unit | {heirloom.Name} | best peer | {heirloom.Name} vs best peer (median of rounds, min-max) | {string.Join(" | ", others.Select(p => p.Name))} |");
        Console.WriteLine($"|---|---|---|---|---|{string.Concat(others.Select(_ => "---|"))}");
        foreach (var row in Rows)
        {
            Console.WriteLine(Line(row, heirloom, others));
        }

        Console.WriteLine();
        Console.WriteLine("Ratio: how many times better Heirloom is than the best peer on that row (above 1: Heirloom ahead), the median of each round's ratio.");
    }

    private string Line(Row row, IPeer heirloom, IPeer[] others)
    {
        var mine = Values(row, heirloom);
        var medians = others.ToDictionary(p => p, p => Median(Values(row, p)));
        var ranked = others.Where(p => !double.IsNaN(medians[p]) && !SmallerSkynet(row, p)).ToArray();
        var best = ranked.Length == 0 ? null
            : row.HigherIsBetter ? ranked.MaxBy(p => medians[p]) : ranked.MinBy(p => medians[p]);
        var bestText = best is null ? "n/a" : Format(medians[best], $"{best.Name} ");
        var ratioText = "n/a";
        if (best is not null)
        {
            var ratios = mine.Zip(Values(row, best), row.Advantage).Where(r => !double.IsNaN(r)).Order().ToArray();
            if (ratios.Length > 0)
            {
                ratioText = string.Create(CultureInfo.InvariantCulture, $"{Median(ratios):F2}x ({ratios[0]:F2}-{ratios[^1]:F2})");
            }
        }

        return $"| {row.Name} | {row.Unit} | {Format(Median(mine), "")} | {bestText} | {ratioText} | {string.Join(" | ", others.Select(p => Format(medians[p], "") + (SmallerSkynet(row, p) ? $" ({sizes.OrleansSkynetLeaves:N0} leaves)" : "")))} |";
    }

    /// <summary>Orleans' Skynet over fewer leaves than the others': shown, but not a candidate for the best peer.</summary>
    private bool SmallerSkynet(Row row, IPeer peer) =>
        row.Pattern == "skynet" && peer is OrleansPeer && sizes.OrleansSkynetLeaves != sizes.SkynetLeaves;

    private static string Format(double value, string prefix) =>
        double.IsNaN(value) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{prefix}{value:F1}");
}
