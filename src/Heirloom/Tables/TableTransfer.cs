using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>
/// The message a process receives when it becomes a table's owner, by give-away or as heir
/// (ETS's <c>{'ETS-TRANSFER', Tab, FromPid, GiftData}</c>). It arrives before the EXIT and DOWN of a dead owner.
/// </summary>
/// <param name="Table">The table; cast it to its <see cref="Table{TKey, TValue}"/> type.</param>
/// <param name="From">The previous owner (dead, when this is an inheritance).</param>
/// <param name="Gift">The give-away's gift, or the heir data.</param>
public sealed record TableTransfer(Table Table, Pid From, object? Gift);
