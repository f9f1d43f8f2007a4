namespace Heirloom.Management;

/// <summary>Sent by a manager to a <see cref="TableWorker{TKey, TValue}"/> it will not hand its table to; the worker
/// stops with <paramref name="Reason"/>.</summary>
/// <param name="Reason">Why the table is not handed to it.</param>
internal sealed record HandOffRefused(TableTypeMismatchException Reason);
