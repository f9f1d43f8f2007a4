namespace Heirloom.Persistence;

/// <summary>The files of a durable table's directory, for tools: its snapshots and its journal segments, oldest first.
/// Read them with <see cref="TableFile"/> and <see cref="JournalReader"/>.</summary>
public static class DurableDirectory
{
    /// <summary>The snapshots (<c>snapshot-&lt;sequence&gt;.htab</c>), oldest first, each with the last journal
    /// sequence it includes.</summary>
    /// <param name="directory">The durable table's directory.</param>
    public static IReadOnlyList<(long Sequence, string Path)> Snapshots(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return DurableFiles.Snapshots(directory);
    }

    /// <summary>The journal segments (<c>journal-&lt;first sequence&gt;.log</c>), oldest first, each with the sequence
    /// of its first record.</summary>
    /// <param name="directory">The durable table's directory.</param>
    public static IReadOnlyList<(long FirstSequence, string Path)> Segments(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return DurableFiles.Segments(directory);
    }

    /// <summary>Whether a path names a snapshot by its file name.</summary>
    /// <param name="path">The file's path.</param>
    public static bool IsSnapshotName(string path) => DurableFiles.SnapshotSequence(path) is not null;
}
