namespace Heirloom.Persistence;

/// <summary>
/// A journal is damaged before its end: valid records follow a bad one, so recovering would silently drop
/// acknowledged writes. Recovery stops instead. A damaged tail (a torn last write) is not this: it is truncated.
/// </summary>
public sealed class JournalCorruptedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The journal.</param>
    /// <param name="offset">Where the bad record starts.</param>
    /// <param name="detail">What is wrong with it.</param>
    public JournalCorruptedException(string path, long offset, string detail)
        : this(path, offset, detail, null)
    {
    }

    /// <summary>Creates the exception with the error that revealed the damage.</summary>
    /// <param name="path">The journal.</param>
    /// <param name="offset">Where the bad record starts.</param>
    /// <param name="detail">What is wrong with it.</param>
    /// <param name="inner">The error that revealed it.</param>
    public JournalCorruptedException(string path, long offset, string detail, Exception? inner)
        : base($"{path} is corrupt at byte {offset} ({detail}), and valid records follow it: recovering would lose them. " +
            $"Keep a copy, then truncate the journal at byte {offset} (truncate -s {offset} '{path}') to accept losing everything from there.", inner)
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>The journal.</summary>
    public string Path { get; }

    /// <summary>Where the bad record starts.</summary>
    public long Offset { get; }
}
