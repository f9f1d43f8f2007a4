using Microsoft.Extensions.Logging;

namespace Heirloom.ClusterDemo;

/// <summary>A node's log on standard error, one line per event (standard output carries the node's protocol).</summary>
internal sealed class ErrorLogger(string nodeId) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {nodeId} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
        Console.Error.WriteLine(line.ReplaceLineEndings(" "));
    }
}
