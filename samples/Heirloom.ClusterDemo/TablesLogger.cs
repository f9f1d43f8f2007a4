using Microsoft.Extensions.Logging;

namespace Heirloom.ClusterDemo;

/// <summary>The log of a node serving many tables: events at Information and above on standard error, one line each;
/// the start of each planned hand-off (when the table stops taking writes, <c>SEAL</c>), each takeover, hand-off and
/// fencing reported to <paramref name="handingOff"/> with the table's name, so the one who started the node can
/// measure each table's pause and follow each table's moves.</summary>
internal sealed class TablesLogger(string nodeId, Action<string> handingOff) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Name is "TableHandingOff" or "TableTakenOver" or "TableHandedOff" or "TableFenced" && state is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "Table").Value is string table)
        {
            handingOff(eventId.Name == "TableHandingOff" ? $"SEAL {table}" : $"{eventId.Name} {table}");
        }

        if (logLevel >= LogLevel.Information && eventId.Name is not ("TableTakenOver" or "TableHandingOff"))
        {
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {nodeId} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
            Console.Error.WriteLine(line.ReplaceLineEndings(" "));
        }
    }
}
