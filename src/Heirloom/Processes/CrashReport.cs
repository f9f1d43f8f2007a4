namespace Heirloom.Processes;

/// <summary>A process ended with an unhandled exception. The exception never reaches the thread pool.</summary>
/// <param name="Pid">The process that crashed.</param>
/// <param name="RegisteredName">Its registered name when it crashed, if any.</param>
/// <param name="Exception">The unhandled exception, which is also the process's exit reason.</param>
public sealed record CrashReport(Pid Pid, string? RegisteredName, Exception Exception) : NodeReport(Pid)
{
    /// <summary>What the process ran (see <see cref="ProcessInfo.Behaviour"/>), so a report can name a process that
    /// has no registered name: <c>TableManager</c>, <c>Supervisor</c>, a GenServer's type; null for a plain process.</summary>
    public Type? Behaviour { get; init; }
}
