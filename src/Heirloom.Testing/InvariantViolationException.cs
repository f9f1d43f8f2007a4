namespace Heirloom.Testing;

/// <summary>A property the test stated (<see cref="SimulatedNode.Invariant(string, Func{bool})"/> or
/// <see cref="SimulatedNode.Check(string, bool)"/>) did not hold.</summary>
public sealed class InvariantViolationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="invariant">The property's name.</param>
    /// <param name="step">The step after which it failed.</param>
    /// <param name="at">The virtual time then.</param>
    public InvariantViolationException(string invariant, long step, TimeSpan at)
        : base($"The invariant \"{invariant}\" failed after step {step}, at {at.TotalSeconds:F3} s of virtual time.")
    {
        Invariant = invariant;
        Step = step;
    }

    /// <summary>The property's name.</summary>
    public string Invariant { get; }

    /// <summary>The step after which it failed.</summary>
    public long Step { get; }
}
