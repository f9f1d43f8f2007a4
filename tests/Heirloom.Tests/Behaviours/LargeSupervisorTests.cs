using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>Supervisors with as many children as a node holds connections or sessions.</summary>
public sealed class LargeSupervisorTests
{
    private const int Children = 100_000;

    [Fact]
    public async Task A_supervisor_with_100000_children_stops_them_all_in_reverse_start_order()
    {
        await using var node = new Node();
        var started = new ConcurrentQueue<int>();
        var stopped = new ConcurrentQueue<int>();
        var specs = Enumerable.Range(0, Children).Select(i => ChildSpec.ForProcess($"child-{i}", async ctx =>
        {
            ctx.TrapExit = true;
            started.Enqueue(i);
            var exit = await ctx.Receive<ExitSignal>();
            if (exit.Reason == ExitReason.Shutdown)
            {
                stopped.Enqueue(i);
            }
        })).ToList();

        var supervisor = await Supervisor.StartAsync(node, new SupervisorOptions { Children = specs });
        Assert.Equal(new ChildCounts(Children, Children, 0, Children), await Supervisor.CountChildrenAsync(supervisor));
        await TestKit.WaitUntil(() => started.Count == Children);

        await GenServer.StopAsync(supervisor, ExitReason.Shutdown, TimeSpan.FromMinutes(2));

        Assert.Equal(Enumerable.Range(0, Children).Reverse(), stopped);
        Assert.Equal(0, node.ProcessCount);
    }

    [Fact]
    public async Task A_simple_one_for_one_supervisor_with_100000_children_is_killed_and_takes_them_all_down()
    {
        // The children are linked to the supervisor and do not trap exits: the kill reaches them as exit signals along
        // 100,000 links, delivered from one loop.
        await using var node = new Node();
        var template = ChildSpec.ForProcess("session", TestKit.Idle) with { Restart = RestartType.Temporary };
        var supervisor = await Supervisor.StartAsync(node, new SupervisorOptions { Strategy = SupervisorStrategy.SimpleOneForOne, Children = [template] });
        for (var i = 0; i < Children; i++)
        {
            await Supervisor.StartChildAsync(supervisor, (object?)i);
        }

        Assert.Equal(Children + 1, node.ProcessCount);
        node.Exit(supervisor, ExitReason.Kill);

        Assert.Equal(ExitReason.Killed, await node.Exited(supervisor));
        await TestKit.WaitUntil(() => node.ProcessCount == 0);
    }
}
