using Heirloom.Behaviours;
using Heirloom.Testing;

namespace Heirloom.Tests.Simulations;

/// <summary>
/// Clients increment a shared counter and count their acknowledged increments; at the end the counter must equal that
/// count. The flawed clients read the counter in one call and write the value plus one in a second: between the two,
/// another client's increment can land, and is then lost.
/// </summary>
internal static class CounterScenario
{
    private const int Clients = 3;
    private const int IncrementsPerClient = 5;

    public static SimulationOptions Options { get; } = new() { FaultRate = 0 };

    public static Func<SimulatedNode, Task> Scenario(bool readModifyWrite) => sim => RunAsync(sim, readModifyWrite);

    private static async Task RunAsync(SimulatedNode sim, bool readModifyWrite)
    {
        var counter = await GenServer.StartAsync(sim.Node, () => new CounterServer());
        var acknowledged = 0;
        var done = 0;
        for (var client = 0; client < Clients; client++)
        {
            sim.Node.Spawn(async _ =>
            {
                for (var i = 0; i < IncrementsPerClient; i++)
                {
                    await IncrementAsync(counter, readModifyWrite);
                    acknowledged++;
                }

                done++;
            });
        }

        while (done < Clients)
        {
            await sim.AdvanceAsync(TimeSpan.FromMilliseconds(10));
        }

        var value = await GenServer.CallAsync<long>(counter, "get");
        sim.Trace($"counter {value}, acknowledged {acknowledged}");
        sim.Check("the counter counts every acknowledged increment", value == acknowledged);
    }

    private static async Task IncrementAsync(Heirloom.Processes.Pid counter, bool readModifyWrite)
    {
        if (!readModifyWrite)
        {
            await GenServer.CallAsync<long>(counter, "add");
            return;
        }

        var value = await GenServer.CallAsync<long>(counter, "get");
        await GenServer.CallAsync<bool>(counter, ("set", value + 1));
    }
}
