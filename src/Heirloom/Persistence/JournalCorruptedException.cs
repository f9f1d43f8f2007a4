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
        : base($"{path} is corrupt at byte {offset} ({detail}), and valid records follow it: recovering would lose them. " +
            $"Keep a copy, then truncate the journal at byte {offset} (truncate -s {offset} '{path}') to accept losing everything from there.")
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>The journal.</summary>
    public string Path { get; }

    /// <summary>Where the bad record starts.</summary>
    public long Offset { get; }
}
