namespace Heirloom.Tables;

/// <summary>A table operation failed; <see cref="Error"/> says why, with ETS's distinctions. Nothing was applied.</summary>
public sealed class TableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The cause.</param>
    /// <param name="message">What was wrong.</param>
    public TableException(TableError error, string message)
        : base(message) => Error = error;

    /// <summary>Creates the exception with the failure that caused it.</summary>
    /// <param name="error">The cause.</param>
    /// <param name="message">What was wrong and what to do.</param>
    /// <param name="innerException">The failure underneath, such as the <see cref="IOException"/> of a full disk.</param>
    public TableException(TableError error, string message, Exception innerException)
        : base(message, innerException) => Error = error;

    /// <summary>The cause.</summary>
    public TableError Error { get; }
}
