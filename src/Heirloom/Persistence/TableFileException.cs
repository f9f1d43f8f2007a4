namespace Heirloom.Persistence;

/// <summary>A table file could not be read or loaded; <see cref="Error"/> says why. No table is left behind.</summary>
public class TableFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The cause.</param>
    /// <param name="message">What was wrong, and where.</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public TableFileException(TableFileError error, string message, Exception? inner = null)
        : base(message, inner) => Error = error;

    /// <summary>The cause.</summary>
    public TableFileError Error { get; }
}
