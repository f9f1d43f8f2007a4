using System.Text;
using Heirloom.Processes;

namespace Heirloom.Management;

/// <summary>
/// A managed table was not handed to a <see cref="TableWorker{TKey, TValue}"/> whose key or value type is not the
/// table's: the worker would wait for its table forever. The worker exits with this exception, the manager keeps the
/// table (its status shows this as the failure while it looks for a worker), and a <see cref="HandOffRefusedReport"/>
/// is reported.
/// </summary>
public sealed class TableTypeMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception, with a message naming both type pairs.</summary>
    /// <param name="tableName">The table's name.</param>
    /// <param name="tableKeyType">The table's key type.</param>
    /// <param name="tableValueType">The table's value type.</param>
    /// <param name="worker">The worker.</param>
    /// <param name="workerKeyType">The worker's key type.</param>
    /// <param name="workerValueType">The worker's value type.</param>
    public TableTypeMismatchException(string tableName, Type tableKeyType, Type tableValueType, Pid worker, Type workerKeyType, Type workerValueType)
        : base($"The managed table '{tableName}' holds <{Describe(tableKeyType)}, {Describe(tableValueType)}>, but its worker {worker} is a TableWorker<{Describe(workerKeyType)}, {Describe(workerValueType)}>, so the table is not handed to it. Make the worker a TableWorker<{Describe(tableKeyType)}, {Describe(tableValueType)}>, or manage the table with the worker's types.")
    {
        (TableName, TableKeyType, TableValueType, Worker, WorkerKeyType, WorkerValueType) = (tableName, tableKeyType, tableValueType, worker, workerKeyType, workerValueType);
    }

    /// <summary>The table's name.</summary>
    public string TableName { get; }

    /// <summary>The table's key type.</summary>
    public Type TableKeyType { get; }

    /// <summary>The table's value type.</summary>
    public Type TableValueType { get; }

    /// <summary>The worker that was refused.</summary>
    public Pid Worker { get; }

    /// <summary>The worker's key type.</summary>
    public Type WorkerKeyType { get; }

    /// <summary>The worker's value type.</summary>
    public Type WorkerValueType { get; }

    /// <summary>A type as C# spells it, with its generic arguments.</summary>
    private static string Describe(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.FullName ?? type.Name;
        }

        var name = type.GetGenericTypeDefinition().FullName ?? type.Name;
        var text = new StringBuilder(name[..name.IndexOf('`', StringComparison.Ordinal)]).Append('<');
        text.AppendJoin(", ", type.GetGenericArguments().Select(Describe));
        return text.Append('>').ToString();
    }
}
