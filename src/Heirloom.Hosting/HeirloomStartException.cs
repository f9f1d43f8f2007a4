namespace Heirloom.Hosting;

/// <summary>
/// A root supervision tree did not start, so the host did not start. Its message names the tree and the child that
/// failed; the exception that child failed with is the inner exception.
/// </summary>
public sealed class HeirloomStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which tree did not start, and why.</param>
    /// <param name="innerException">The exception the child failed with.</param>
    public HeirloomStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
