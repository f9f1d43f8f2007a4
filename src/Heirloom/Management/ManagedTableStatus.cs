using Heirloom.Processes;

namespace Heirloom.Management;

/// <summary>A managed table as its manager sees it.</summary>
/// <param name="Name">The table's name.</param>
/// <param name="State">Held while discovering, or handed off.</param>
/// <param name="Owner">Its owner now.</param>
/// <param name="Heir">Its heir now (the manager, once adopted).</param>
/// <param name="WaitingFor">How long discovery has been waiting, when discovering.</param>
/// <param name="HandOffs">Successful hand-offs so far.</param>
/// <param name="FailedHandOffs">Hand-offs whose receiver died between being found and getting the table (finding no
/// receiver yet is waiting, counted in <paramref name="WaitingFor"/>, not a failure).</param>
/// <param name="Failure">While <see cref="ManagedTableState.Failed"/>: why the table's storage failed, or why the last
/// attempt to open it again failed. While <see cref="ManagedTableState.Discovering"/>: why the last process found was
/// refused the table (a <see cref="TableTypeMismatchException"/>), if it was. Null once handed off.</param>
/// <param name="Reopens">How many times the manager opened the table again after its storage failed.</param>
public sealed record ManagedTableStatus(string Name, ManagedTableState State, Pid Owner, Pid Heir, TimeSpan? WaitingFor, long HandOffs, long FailedHandOffs, Exception? Failure, long Reopens);
