using Heirloom.Tables;

namespace Heirloom.Management;

/// <summary>Sent to a table's owner when the table was taken from it through no fault of its own (a clustered table's
/// node lost it): a <see cref="TableWorker{TKey, TValue}"/> drops the table and waits, as before its first table, for
/// the next one; requests that arrive meanwhile wait for it.</summary>
/// <param name="Table">The table taken away (failed closed already).</param>
/// <param name="Reason">Why; a <see cref="TableWithdrawnException"/>.</param>
public sealed record TableWithdrawn(Table Table, TableWithdrawnException Reason);
