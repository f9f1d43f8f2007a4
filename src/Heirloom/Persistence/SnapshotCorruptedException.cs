namespace Heirloom.Persistence;

/// <summary>
/// A durable table's snapshots are damaged (every one of the two kept) and the journal no longer reaches back far enough
/// to do without them: recovering would lose the writes only they hold. Recovery stops instead.
/// </summary>
public sealed class SnapshotCorruptedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The newest damaged snapshot.</param>
    /// <param name="damage">What is wrong with it.</param>
    /// <param name="missing">Why the journal cannot stand in for it.</param>
    public SnapshotCorruptedException(string path, TableFileException damage, JournalCorruptedException missing)
        : base($"The snapshot {path} is damaged ({damage.Message}), no older snapshot is whole, and the journal cannot replace them ({missing.Message}). " +
            $"Restore the snapshots from a backup (cp <backup>/{System.IO.Path.GetFileName(path)} '{path}'); `heirloom verify` tells a whole file from a damaged one.", damage)
    {
        Path = path;
    }

    /// <summary>The newest damaged snapshot.</summary>
    public string Path { get; }
}
