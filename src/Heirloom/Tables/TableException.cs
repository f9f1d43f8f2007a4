namespace Heirloom.Tables;

/// <summary>A table operation failed; <see cref="Error"/> says why, with ETS's distinctions. Nothing was applied.</summary>
public sealed class TableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The cause.</param>
    /// <param name="message">What was wrong.</param>
    public TableException(TableError error, string message)
        : base(message) => Error = error;

    /// <summary>The cause.</summary>
    public TableError Error { get; }
}
