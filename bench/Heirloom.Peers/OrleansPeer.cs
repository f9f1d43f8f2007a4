using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Heirloom.Peers;

/// <summary>Orleans' side: an in-process silo on localhost clustering, called through the same host's grain factory.
/// Grains are virtual actors: "spawn" is an activation by a first call, "stop" is DeactivateOnIdle.</summary>
internal sealed class OrleansPeer : IPeer
{
    private IHost _host = null!;
    private IGrainFactory _grains = null!;
    private long _nextKey = 1;

    public string Name => "Orleans";

    public IReadOnlyDictionary<string, string> Patterns { get; } = new Dictionary<string, string>
    {
        ["ping"] = "a grain awaits calls to another grain (request/reply is Orleans' only messaging)",
        ["spawn"] = "a grain calls a new grain id (activation + first call); that grain DeactivateOnIdle()s",
        ["skynet"] = "each grain awaits Task.WhenAll of calls to 10 new grain ids, then DeactivateOnIdle()s",
        ["call"] = "grain call through the host's IGrainFactory from plain async code (default response timeout 30 s)",
        ["restart"] = "no supervisor: an exception alone keeps the activation, so the grain calls DeactivateOnIdle() and throws; the next call activates a new instance",
        ["memory"] = "idle grain activations (activated by one call each)",
        ["state"] = "grain with IPersistentState<T> on in-memory grain storage: written once, read back by the new activation",
    };

    public async Task StartAsync()
    {
        _host = new HostBuilder()
            .UseOrleans(silo => silo
                .UseLocalhostClustering(siloPort: 21111, gatewayPort: 31000)
                .AddMemoryGrainStorage("memory"))
            .Build();
        await _host.StartAsync();
        _grains = _host.Services.GetRequiredService<IGrainFactory>();
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    private long Keys(long count) => Interlocked.Add(ref _nextKey, count) - count;

    public async Task<double> PingPongAsync(int roundTrips)
    {
        var key = Keys(1);
        var pinger = _grains.GetGrain<IPingGrain>(key);
        await pinger.Run(key, 1);
        var start = Stopwatch.GetTimestamp();
        await pinger.Run(key, roundTrips);
        return Timing.NanosecondsPer(start, roundTrips);
    }

    public async Task<double> PingPongPairsAsync(int pairs, int roundTrips)
    {
        var each = roundTrips / pairs;
        var first = Keys(pairs);
        var pingers = Enumerable.Range(0, pairs).Select(i => _grains.GetGrain<IPingGrain>(first + i)).ToArray();
        await Task.WhenAll(pingers.Select((p, i) => p.Run(first + i, 1)));
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(pingers.Select((p, i) => p.Run(first + i, each)));
        return Timing.MillionPerSecond(start, 2L * each * pairs);
    }

    public async Task<double> SpawnAsync(int actors)
    {
        var spawner = _grains.GetGrain<ISpawnGrain>(Keys(1));
        await spawner.Run(Keys(1), 1);
        var first = Keys(actors);
        var start = Stopwatch.GetTimestamp();
        await spawner.Run(first, actors);
        return Timing.NanosecondsPer(start, actors);
    }

    public async Task<double> SkynetAsync(int leaves)
    {
        // The tree's nodes are numbered 0 (the root) to about 1.11 x leaves; keys past the base are left to this run.
        var baseKey = Keys(2L * leaves);
        var start = Stopwatch.GetTimestamp();
        var sum = await _grains.GetGrain<ISkynetGrain>(baseKey).Sum(baseKey, 0, leaves);
        var result = Timing.Milliseconds(start);
        Timing.Check(sum == Timing.SkynetSum(leaves), $"Orleans' Skynet summed to {sum}");
        return result;
    }

    public async Task<double> CallFromOutsideAsync(int calls)
    {
        var echo = _grains.GetGrain<IEchoGrain>(Keys(1));
        await echo.Echo("warm");
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await echo.Echo("ping");
        }

        return Timing.NanosecondsPer(start, calls);
    }

    public async Task<double[]> RestartAsync(int restarts)
    {
        var echo = _grains.GetGrain<IEchoGrain>(Keys(1));
        await echo.Echo("warm");
        var times = new double[restarts];
        for (var i = 0; i < restarts; i++)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await echo.Crash();
            }
            catch (InvalidOperationException)
            {
                // The crash, as intended.
            }

            await echo.Echo("ping");
            times[i] = Timing.Microseconds(start);
        }

        return times;
    }

    public async Task<double> MemoryPerIdleActorAsync(int actors)
    {
        var first = Keys(actors);
        var before = await Timing.SettledHeapAsync();
        await InBatches(actors, i => _grains.GetGrain<IIdleGrain>(first + i).Touch());
        var after = await Timing.SettledHeapAsync();
        await InBatches(actors, i => _grains.GetGrain<IIdleGrain>(first + i).Leave());
        return (after - before) / (double)actors;
    }

    private static async Task InBatches(int count, Func<int, Task> call)
    {
        for (var i = 0; i < count; i += 1000)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(1000, count - i)).Select(call));
        }
    }

    public async Task<double> StateAfterCrashAsync(int entries)
    {
        var keeper = _grains.GetGrain<IKeeperGrain>(Keys(1));
        await keeper.Fill(entries);
        var start = Stopwatch.GetTimestamp();
        try
        {
            await keeper.Crash();
        }
        catch (InvalidOperationException)
        {
            // The crash, as intended.
        }

        var count = await keeper.Count();
        var result = Timing.Milliseconds(start);
        Timing.Check(count == entries, $"Orleans' keeper served {count} entries after its crash");
        return result;
    }
}
