using Heirloom.Processes;

namespace Heirloom.Management;

/// <summary>A <see cref="TableManager"/> did not hand a table to the process it found for it (reported through
/// <see cref="Node.Reported"/>); the manager keeps the table and looks again, with backoff.</summary>
/// <param name="Pid">The manager.</param>
/// <param name="TableName">The table's name.</param>
/// <param name="Worker">The process refused.</param>
/// <param name="Exception">Why: a <see cref="TableTypeMismatchException"/>.</param>
public sealed record HandOffRefusedReport(Pid Pid, string TableName, Pid Worker, Exception Exception) : NodeReport(Pid);
