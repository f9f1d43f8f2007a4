namespace Heirloom.Persistence;

/// <summary>Where a durable table's journal and snapshots stand.</summary>
/// <param name="Directory">The table's directory.</param>
/// <param name="Fsync">The fsync policy.</param>
/// <param name="LastSequence">The sequence of the last journal record written.</param>
/// <param name="SnapshotSequence">The last record the newest snapshot includes; 0 when there is none.</param>
/// <param name="JournalBytesSinceSnapshot">The size of the journal written since the newest snapshot began.</param>
/// <param name="LastSnapshotError">Why the last background snapshot failed, or null; the journal still holds everything.</param>
public sealed record DurableTableStatus(string Directory, FsyncPolicy Fsync, long LastSequence, long SnapshotSequence, long JournalBytesSinceSnapshot, Exception? LastSnapshotError);
