namespace Heirloom.Persistence;

/// <summary>
/// A durable table's directory cannot be used: it cannot be created (a part of its path is a file, or the process may
/// not write there) or its files cannot be opened. Its message names the directory and what to check.
/// </summary>
public sealed class DurableDirectoryException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="directory">The directory, as given in <see cref="DurabilityOptions.Directory"/>.</param>
    /// <param name="inner">The file system's error.</param>
    public DurableDirectoryException(string directory, Exception inner)
        : base(
            $"The durable table directory '{directory}' (full path {System.IO.Path.GetFullPath(directory)}) cannot be used: {inner.Message} " +
            "Check that every part of the path above it is a directory (not a file) and that this process may create and write files there, " +
            "or set DurabilityOptions.Directory to another place.",
            inner)
    {
        Directory = directory;
    }

    /// <summary>The directory, as given.</summary>
    public string Directory { get; }
}
