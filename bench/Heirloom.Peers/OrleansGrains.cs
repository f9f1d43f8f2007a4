namespace Heirloom.Peers;

#pragma warning disable CA1515 // Orleans' code generator needs the grain interfaces public.

public interface IPongGrain : IGrainWithIntegerKey
{
    Task<int> Ping(int value);
}

public interface IPingGrain : IGrainWithIntegerKey
{
    Task Run(long pongKey, int count);
}

public interface IHelloGrain : IGrainWithIntegerKey
{
    Task<int> Hello(int value);
}

public interface ISpawnGrain : IGrainWithIntegerKey
{
    Task Run(long firstKey, int count);
}

public interface ISkynetGrain : IGrainWithIntegerKey
{
    Task<long> Sum(long baseKey, long number, long size);
}

public interface IEchoGrain : IGrainWithIntegerKey
{
    Task<string> Echo(string request);

    Task Crash();
}

public interface IIdleGrain : IGrainWithIntegerKey
{
    Task Touch();

    Task Leave();
}

public interface IKeeperGrain : IGrainWithIntegerKey
{
    Task<long> Fill(int entries);

    Task<long> Count();

    Task Crash();
}

[GenerateSerializer]
public sealed class KeeperState
{
    [Id(0)]
    public Dictionary<long, long> Entries { get; set; } = [];
}

#pragma warning restore CA1515

internal sealed class PongGrain : Grain, IPongGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value);
}

internal sealed class PingGrain : Grain, IPingGrain
{
    public async Task Run(long pongKey, int count)
    {
        var pong = GrainFactory.GetGrain<IPongGrain>(pongKey);
        for (var i = 0; i < count; i++)
        {
            await pong.Ping(i);
        }
    }
}

/// <summary>Answers once and deactivates: Orleans' nearest to an actor that stops after its first message.</summary>
internal sealed class HelloGrain : Grain, IHelloGrain
{
    public Task<int> Hello(int value)
    {
        DeactivateOnIdle();
        return Task.FromResult(value);
    }
}

internal sealed class SpawnGrain : Grain, ISpawnGrain
{
    public async Task Run(long firstKey, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await GrainFactory.GetGrain<IHelloGrain>(firstKey + i).Hello(i);
        }
    }
}

/// <summary>Skynet's node: its children are the grains keyed 10k+1 ... 10k+10 past the run's base key.</summary>
internal sealed class SkynetGrain : Grain, ISkynetGrain
{
    public async Task<long> Sum(long baseKey, long number, long size)
    {
        DeactivateOnIdle();
        if (size == 1)
        {
            return number;
        }

        var index = this.GetPrimaryKeyLong() - baseKey;
        var child = size / 10;
        var sums = new Task<long>[10];
        for (var i = 0; i < 10; i++)
        {
            sums[i] = GrainFactory.GetGrain<ISkynetGrain>(baseKey + (10 * index) + i + 1).Sum(baseKey, number + (i * child), child);
        }

        long sum = 0;
        foreach (var part in await Task.WhenAll(sums))
        {
            sum += part;
        }

        return sum;
    }
}

internal sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<string> Echo(string request) => Task.FromResult(request);

    /// <summary>An exception alone does not deactivate a grain: deactivate, then throw.</summary>
    public Task Crash()
    {
        DeactivateOnIdle();
        throw new InvalidOperationException("crash");
    }
}

internal sealed class IdleGrain : Grain, IIdleGrain
{
    public Task Touch() => Task.CompletedTask;

    public Task Leave()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

internal sealed class KeeperGrain([PersistentState("entries", "memory")] IPersistentState<KeeperState> state) : Grain, IKeeperGrain
{
    public async Task<long> Fill(int entries)
    {
        for (long i = 0; i < entries; i++)
        {
            state.State.Entries[i] = i;
        }

        await state.WriteStateAsync();
        return state.State.Entries.Count;
    }

    public Task<long> Count() => Task.FromResult((long)state.State.Entries.Count);

    public Task Crash()
    {
        DeactivateOnIdle();
        throw new InvalidOperationException("crash");
    }
}
