namespace Heirloom.Testing;

/// <summary>The simulation could not go on: nothing was ready to run, no timer was set, and the scenario had not
/// finished (it waits for something that can never happen), or it ran past its step or time limit.</summary>
public sealed class SimulationStuckException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What stopped the run and what to look at.</param>
    public SimulationStuckException(string message)
        : base(message)
    {
    }
}
