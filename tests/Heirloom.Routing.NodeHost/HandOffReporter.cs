using Microsoft.Extensions.Logging;

namespace Heirloom.Routing.NodeHost;

/// <summary>The cluster's logger in a node host: each planned hand-off (the cluster's TableHandedOff event) is printed
/// as "MOVED &lt;table&gt;", so a test can tell that tables moved; everything else is dropped.</summary>
public sealed class HandOffReporter(TextWriter output) : ILogger
{
    private const int TableHandedOff = 2011;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == TableHandedOff && state is IReadOnlyList<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "Table").Value is string table)
        {
            output.WriteLine($"MOVED {table}");
            output.Flush();
        }
    }
}
