using Heirloom.Testing;
using Xunit.Abstractions;

namespace Heirloom.Tests.Simulations;

/// <summary>
/// Three bugs users write, planted in sample code: each is found within 1,000 seeds, its fault schedule shrunk, and
/// the printed seed and faults replay the same failing run. The same code without the bug passes the same seeds, so
/// each test fails if the simulation stops finding the bug or starts failing correct code.
/// </summary>
public sealed class SeededBugTests(ITestOutputHelper output)
{
    [Fact]
    public void A_worker_that_acknowledges_before_writing_is_found_and_replayed() =>
        FindAndReplay(DemoTree.Scenario(WriterFlaw.AcknowledgeBeforeWriting), DemoTree.Options);

    [Fact]
    public void A_worker_that_keeps_derived_state_outside_its_table_is_found_and_replayed() =>
        FindAndReplay(DemoTree.Scenario(WriterFlaw.DerivedStateOutsideTable), DemoTree.Options);

    [Fact]
    public void A_read_modify_write_across_two_calls_is_found_and_replayed() =>
        FindAndReplay(CounterScenario.Scenario(readModifyWrite: true), CounterScenario.Options);

    [Fact]
    public void The_same_code_without_the_bugs_passes_the_seeds()
    {
        Simulation.Check(DemoTree.Scenario(), seeds: 200, options: DemoTree.Options);
        Simulation.Check(CounterScenario.Scenario(readModifyWrite: false), seeds: 200, options: CounterScenario.Options);
    }

    private void FindAndReplay(Func<SimulatedNode, Task> scenario, SimulationOptions options)
    {
        var failed = Simulation.FindFailure(scenario, seeds: 1000, options: options);
        Assert.NotNull(failed);
        output.WriteLine(failed.ToString());
        Assert.IsType<InvariantViolationException>(failed.Failure);

        // Shrunk: never more faults than the seed drew by itself.
        Assert.True(failed.Faults.Count <= Simulation.Run(failed.Seed, scenario, options).Faults.Count);

        var replay = Simulation.Replay(failed.Seed, Fault.Format(failed.Faults), scenario, options);
        Assert.False(replay.Succeeded, replay.ToString());
        Assert.Equal(failed.Failure!.Message, replay.Failure!.Message);
        Assert.Equal(failed.TraceHash, replay.TraceHash);
    }
}
