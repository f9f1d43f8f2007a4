using Heirloom.Testing;
using Xunit.Abstractions;

namespace Heirloom.Tests.Simulations;

/// <summary>A run is a function of its seed: the demo's tree, with its kills, handler exceptions, disk faults and power
/// loss, gives the same trace, byte for byte, every time its seed is run.</summary>
public sealed class DeterminismTests(ITestOutputHelper output)
{
    [Fact]
    public void The_same_seed_gives_a_byte_identical_trace_in_100_of_100_runs_of_the_demo_tree()
    {
        const long seed = 20261205;
        var first = Simulation.Run(seed, DemoTree.Scenario(), DemoTree.Options with { KeepTrace = true });
        output.WriteLine(first.ToString());
        output.WriteLine($"faults: {Fault.Format(first.Faults)}");
        Assert.True(first.Succeeded, first.ToString());

        // The run exercised what it claims to: chaos kills, disk faults, the power loss, and acknowledged writes.
        Assert.Contains(first.Faults, f => f.Kind == FaultKind.Kill);
        Assert.Contains(first.Faults, f => f.Kind is FaultKind.DiskFull or FaultKind.IoError or FaultKind.FsyncFailure);
        Assert.Contains(first.Trace!, l => l.Contains(" kill <", StringComparison.Ordinal));
        Assert.Contains(first.Trace!, l => l.Contains(" power loss", StringComparison.Ordinal));
        Assert.Contains(first.Trace!, l => l.Contains(" write records/", StringComparison.Ordinal));
        Assert.True(first.VirtualTime >= DemoTree.Duration);

        for (var run = 2; run <= 100; run++)
        {
            var again = Simulation.Run(seed, DemoTree.Scenario(), DemoTree.Options with { KeepTrace = true });
            Assert.True(first.TraceHash == again.TraceHash, $"run {run} of seed {seed} differs: {again}{Environment.NewLine}{FirstDifference(first, again)}");
            Assert.Equal(Fault.Format(first.Faults), Fault.Format(again.Faults));
        }
    }

    private static string FirstDifference(SimulationResult a, SimulationResult b)
    {
        var index = a.Trace!.Zip(b.Trace!).TakeWhile(p => p.First == p.Second).Count();
        return $"line {index}: '{a.Trace!.ElementAtOrDefault(index)}' then '{b.Trace!.ElementAtOrDefault(index)}'";
    }

    [Fact]
    public void Different_seeds_give_different_traces()
    {
        var hashes = Enumerable.Range(1, 5).Select(seed => Simulation.Run(seed, DemoTree.Scenario(), DemoTree.Options).TraceHash).ToHashSet();
        Assert.Equal(5, hashes.Count);
    }

    [Fact]
    public void A_replay_of_a_run_repeats_its_trace()
    {
        var run = Simulation.Run(7, DemoTree.Scenario(), DemoTree.Options);
        var replay = Simulation.Replay(7, Fault.Format(run.Faults), DemoTree.Scenario(), DemoTree.Options);
        Assert.Equal(run.TraceHash, replay.TraceHash);
    }
}
