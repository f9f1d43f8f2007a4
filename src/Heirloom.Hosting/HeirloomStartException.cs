namespace Heirloom.Hosting;

/// <summary>
/// A root supervision tree or a node service did not start, so the host did not start. Its message names the tree and
/// the child that failed, or the service; the exception they failed with is the inner exception.
/// </summary>
public sealed class HeirloomStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which tree or service did not start, and why.</param>
    /// <param name="innerException">The exception the child or service failed with.</param>
    public HeirloomStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
