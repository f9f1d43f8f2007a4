using Heirloom.Processes;

namespace Heirloom.Persistence;

/// <summary>
/// A durable table's storage failed (reported through <see cref="Node.Reported"/>): either the journal failed and the
/// table was closed (<see cref="TableClosed"/>; it refuses every operation until opened again), or a snapshot or
/// compaction failed and the table goes on with its journal and its previous snapshot.
/// </summary>
/// <param name="Pid">The table's owner when it failed; <see cref="Pid.None"/> when the node owned it.</param>
/// <param name="TableName">The table's name, or null.</param>
/// <param name="Directory">The table's directory.</param>
/// <param name="TableClosed">Whether the table was closed.</param>
/// <param name="Exception">What failed; for a closed table, a <see cref="Tables.TableException"/> whose inner exception
/// is the I/O failure.</param>
public sealed record StorageFailureReport(Pid Pid, string? TableName, string Directory, bool TableClosed, Exception Exception) : NodeReport(Pid);
