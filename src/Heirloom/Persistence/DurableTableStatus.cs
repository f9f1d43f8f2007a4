namespace Heirloom.Persistence;

/// <summary>Where a durable table's journal and snapshots stand.</summary>
/// <param name="Directory">The table's directory.</param>
/// <param name="Fsync">The fsync policy.</param>
/// <param name="LastSequence">The sequence of the last journal record written.</param>
/// <param name="SnapshotSequence">The last record the newest snapshot includes; 0 when there is none.</param>
/// <param name="JournalBytesSinceSnapshot">The size of the journal written since the newest snapshot began.</param>
/// <param name="LastSnapshotError">Why the last background snapshot failed, or null; the journal still holds everything.</param>
/// <param name="DurableSequence">The last record known to be on disk (fsynced); below <paramref name="LastSequence"/>
/// while writes wait for an fsync.</param>
/// <param name="SinceLastFsync">How long ago the journal's last fsync finished (or it was opened).</param>
/// <param name="Failure">Why the journal failed and the table with it; null while it is writable.</param>
/// <param name="SinceLastSnapshot">How long ago this table wrote its newest snapshot; null when it has written none
/// since it was opened.</param>
public sealed record DurableTableStatus(string Directory, FsyncPolicy Fsync, long LastSequence, long SnapshotSequence, long JournalBytesSinceSnapshot, Exception? LastSnapshotError, long DurableSequence, TimeSpan SinceLastFsync, Exception? Failure, TimeSpan? SinceLastSnapshot);
