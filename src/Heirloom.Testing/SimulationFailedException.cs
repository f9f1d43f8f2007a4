namespace Heirloom.Testing;

/// <summary>A seed failed (<see cref="Simulation.Check"/>): the message has the failure, the shrunk fault schedule and
/// the one line that replays it.</summary>
public sealed class SimulationFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="result">The failing run, its faults already shrunk.</param>
    public SimulationFailedException(SimulationResult result)
        : base((result ?? throw new ArgumentNullException(nameof(result))).ToString(), result.Failure) => Result = result;

    /// <summary>The failing run.</summary>
    public SimulationResult Result { get; }
}
