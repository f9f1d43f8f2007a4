using Heirloom.Processes;

namespace Heirloom.Management;

/// <summary>A <see cref="TableManager"/> did not hand a table on (reported through <see cref="Node.Reported"/>): the
/// process it found for it is a worker of other types, or the table's directory holds other types, codecs or codec
/// versions than configured, so it could not be opened. The manager tries again, with backoff.</summary>
/// <param name="Pid">The manager.</param>
/// <param name="TableName">The table's name.</param>
/// <param name="Worker">The process refused; <see cref="Pid.None"/> when the table could not be opened.</param>
/// <param name="Exception">Why: a <see cref="TableTypeMismatchException"/>, or the
/// <see cref="Persistence.TableFileException"/> that refused to open the directory.</param>
public sealed record HandOffRefusedReport(Pid Pid, string TableName, Pid Worker, Exception Exception) : NodeReport(Pid);
