namespace Heirloom.Behaviours;

/// <summary>A supervisor refused a request or failed to start a child; <see cref="Error"/> says which.</summary>
public sealed class SupervisorException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The kind of failure.</param>
    /// <param name="message">What was wrong.</param>
    /// <param name="inner">The exception a failed start threw, if any.</param>
    public SupervisorException(SupervisorError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    /// <summary>The kind of failure.</summary>
    public SupervisorError Error { get; }
}
