using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>Keeps every log entry written through it, for tests to count and read.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<(EventId Id, LogLevel Level, string Message, Exception? Exception)> _entries = [];
    private readonly Dictionary<int, long> _stamps = [];

    public IReadOnlyList<(EventId Id, LogLevel Level, string Message, Exception? Exception)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>When the first entry with <paramref name="eventId"/> was logged (a <see cref="System.Diagnostics.Stopwatch"/>
    /// timestamp), or null: lets a timing test say which step was late.</summary>
    public long? FirstLoggedAt(int eventId)
    {
        lock (_lock)
        {
            return _stamps.TryGetValue(eventId, out var stamp) ? stamp : null;
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (provider._lock)
            {
                provider._entries.Add((eventId, logLevel, formatter(state, exception), exception));
                provider._stamps.TryAdd(eventId.Id, System.Diagnostics.Stopwatch.GetTimestamp());
            }
        }
    }
}
