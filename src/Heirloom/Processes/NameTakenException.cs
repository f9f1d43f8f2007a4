namespace Heirloom.Processes;

/// <summary>A name could not be registered: it is taken, or the process already has a name.</summary>
public sealed class NameTakenException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="name">The name that was asked for.</param>
    /// <param name="message">What was in the way.</param>
    public NameTakenException(string name, string message)
        : base(message) => Name = name;

    /// <summary>The name that was asked for.</summary>
    public string Name { get; }
}
