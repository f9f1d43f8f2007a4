using Heirloom.Processes;
using Heirloom.Testing;

namespace Heirloom.Tests.Simulations;

/// <summary>The simulation's own contracts: fault schedules read back as printed, bad input named, escapes caught.</summary>
public sealed class SimulationKitTests
{
    [Fact]
    public void A_printed_fault_schedule_reads_back_as_it_was()
    {
        var faults = new[] { new Fault(120, FaultKind.Kill, 3), new Fault(300, FaultKind.Throw), new Fault(450, FaultKind.DiskFull), new Fault(500, FaultKind.IoError), new Fault(610, FaultKind.FsyncFailure) };
        var printed = Fault.Format(faults);
        Assert.Equal("kill:3@120 throw@300 enospc@450 eio@500 fsync@610", printed);
        Assert.Equal(faults, Fault.Parse(printed));
        Assert.Empty(Fault.Parse(""));
    }

    [Theory]
    [InlineData("kill:3")]
    [InlineData("explode@4")]
    [InlineData("kill:x@4")]
    [InlineData("eio@0")]
    public void A_word_that_is_not_a_fault_is_named_with_the_forms_that_are(string word)
    {
        var error = Assert.Throws<FormatException>(() => Fault.Parse($"throw@1 {word}"));
        Assert.Contains($"'{word}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scenario_that_leaves_the_simulation_for_the_thread_pool_fails_the_run()
    {
        var result = Simulation.Run(1, async sim =>
        {
            await Task.Run(() => { });
            sim.Node.Spawn(async ctx => await ctx.ReceiveAsync(TimeSpan.FromSeconds(1)));
            await Task.Delay(TimeSpan.FromSeconds(2), sim.Time);
        });
        Assert.False(result.Succeeded);
        Assert.IsType<SimulationStuckException>(result.Failure);
    }

    [Fact]
    public void A_scenario_that_waits_for_nothing_that_can_happen_is_reported_stuck()
    {
        var result = Simulation.Run(1, async _ => await new TaskCompletionSource().Task);
        var stuck = Assert.IsType<SimulationStuckException>(result.Failure);
        Assert.Contains("no timer is set", stuck.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yield")]
    [InlineData("real timer")]
    public void A_process_that_leaves_the_simulation_fails_the_run_once_its_work_comes_back(string how)
    {
        var result = Simulation.Run(1, async sim =>
        {
            var probe = sim.SpawnProbe();
            sim.Node.Spawn(async _ =>
            {
                if (how == "yield")
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Delay(1);
                }

                probe.Pid.Send("back");
            });

            // The run waits, in real time, until the work that left comes back to the node.
            var until = DateTime.UtcNow.AddSeconds(10);
            while (probe.Received.Count == 0 && DateTime.UtcNow < until)
            {
                Thread.Sleep(1);
                await sim.AdvanceAsync(TimeSpan.FromMilliseconds(1));
            }
        });
        var stuck = Assert.IsType<SimulationStuckException>(result.Failure);
        Assert.Contains("not a function of its seed", stuck.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_probe_monitors_at_once_so_a_kill_right_after_arrives_as_the_kill()
    {
        var result = Simulation.Run(1, async sim =>
        {
            var probe = sim.SpawnProbe();
            var target = sim.Node.Spawn(async ctx => await ctx.ReceiveAsync());
            var reference = probe.Monitor(target);
            sim.Node.Exit(target, ExitReason.Kill);
            var down = await probe.ExpectAsync<Down>(TimeSpan.FromSeconds(1));
            Assert.Equal(reference, down.Ref);
            Assert.Equal(ExitReasonKind.Killed, down.Reason.Kind);
        });
        Assert.True(result.Succeeded, result.ToString());
    }
}
