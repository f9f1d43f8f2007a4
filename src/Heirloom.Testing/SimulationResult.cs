using System.Globalization;

namespace Heirloom.Testing;

/// <summary>What one simulated run did: its seed and faults (all it takes to replay it), how far it went, the hash of
/// its trace, and its failure if it failed.</summary>
public sealed class SimulationResult
{
    internal SimulationResult(long seed, IReadOnlyList<Fault> faults, long steps, TimeSpan virtualTime, string traceHash, IReadOnlyList<string>? trace, Exception? failure)
    {
        Seed = seed;
        Faults = faults;
        Steps = steps;
        VirtualTime = virtualTime;
        TraceHash = traceHash;
        Trace = trace;
        Failure = failure;
    }

    /// <summary>The run's seed: the scheduler's choices and the drawn faults follow from it.</summary>
    public long Seed { get; }

    /// <summary>The faults injected, in step order.</summary>
    public IReadOnlyList<Fault> Faults { get; }

    /// <summary>How many pieces of work ran.</summary>
    public long Steps { get; }

    /// <summary>How much virtual time passed.</summary>
    public TimeSpan VirtualTime { get; }

    /// <summary>The SHA-256 of the trace's lines, in hex: equal for two runs exactly when their traces are.</summary>
    public string TraceHash { get; }

    /// <summary>The trace's lines, when <see cref="SimulationOptions.KeepTrace"/> was set; otherwise null.</summary>
    public IReadOnlyList<string>? Trace { get; }

    /// <summary>Why the run failed: an invariant, an exception of the scenario, a stuck run; null when it passed.</summary>
    public Exception? Failure { get; }

    /// <summary>Whether the run passed.</summary>
    public bool Succeeded => Failure is null;

    /// <summary>The line that replays this run exactly.</summary>
    public string ReplayLine => string.Create(CultureInfo.InvariantCulture, $"Simulation.Replay(seed: {Seed}, faults: \"{Fault.Format(Faults)}\", scenario) or HEIRLOOM_SIM_SEED={Seed} HEIRLOOM_SIM_FAULTS=\"{Fault.Format(Faults)}\"");

    /// <summary>The outcome, the failure if any, and the replay line.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"seed {Seed}: {(Succeeded ? "passed" : "FAILED")} after {Steps} steps, {VirtualTime.TotalSeconds:F3} s virtual, trace {TraceHash[..16]}")
        + (Failure is null ? string.Empty : $"{Environment.NewLine}{Failure.GetType().Name}: {Failure.Message}{Environment.NewLine}replay: {ReplayLine}");
}
