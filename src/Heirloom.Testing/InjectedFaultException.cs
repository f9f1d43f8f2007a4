namespace Heirloom.Testing;

/// <summary>Thrown by <see cref="SimulatedNode.FaultPoint(string)"/> when the simulation's fault schedule says the
/// handler fails there: an exception the code under test must survive as it would a real one.</summary>
public sealed class InjectedFaultException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="site">The fault point's name.</param>
    public InjectedFaultException(string site)
        : base($"Simulated failure at fault point '{site}'.") => Site = site;

    /// <summary>The fault point's name.</summary>
    public string Site { get; }
}
