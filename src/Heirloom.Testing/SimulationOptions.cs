namespace Heirloom.Testing;

/// <summary>How a simulation injects faults and when it gives up on a run.</summary>
public sealed record SimulationOptions
{
    /// <summary>The chance, at each step while <see cref="SimulatedNode.RunAsync(TimeSpan)"/> runs, that a fault is
    /// drawn. Default 0.002 (one fault in about 500 steps).</summary>
    public double FaultRate { get; init; } = 0.002;

    /// <summary>The kinds of fault drawn. Default all of them.</summary>
    public IReadOnlyList<FaultKind> FaultKinds { get; init; } = Enum.GetValues<FaultKind>();

    /// <summary>At most this many faults per run. Default 50.</summary>
    public int MaxFaults { get; init; } = 50;

    /// <summary>A run that takes more steps than this fails (something loops without end). Default 10 million.</summary>
    public long MaxSteps { get; init; } = 10_000_000;

    /// <summary>A run whose virtual clock passes this fails (something keeps setting timers without end). Default one
    /// day of virtual time.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Whether the result keeps every line of the trace (for printing), not only its hash. Default false.</summary>
    public bool KeepTrace { get; init; }

    /// <summary>Where runs make their scratch directories for simulated disks. Default /dev/shm where it exists (memory),
    /// else the temporary directory.</summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>The default options.</summary>
    public static SimulationOptions Default { get; } = new();
}
