namespace Heirloom.Tables;

/// <summary>
/// The message a table's heir receives when the table's durable storage failed and the table was closed (see
/// <see cref="TableError.StorageFailed"/>): it cannot inherit a closed table, so it learns of it instead, and may open
/// the table again from its directory (a <c>TableManager</c> does, with backoff). ETS has no such message.
/// </summary>
/// <param name="Table">The closed table.</param>
/// <param name="Failure">Why it was closed; its inner exception is the I/O failure.</param>
public sealed record TableFailed(Table Table, TableException Failure);
