using Microsoft.Extensions.Logging;

namespace Heirloom.ClusterDemo;

/// <summary>A node's log on standard error, one line per event (standard output carries the node's protocol); a fencing
/// is also reported to <paramref name="fenced"/>.</summary>
internal sealed class ErrorLogger(string nodeId, Action<string>? fenced = null) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {nodeId} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
        Console.Error.WriteLine(line.ReplaceLineEndings(" "));
        if (eventId.Name == "TableFenced" && exception is not null)
        {
            fenced?.Invoke(exception.Message);
        }
    }
}
