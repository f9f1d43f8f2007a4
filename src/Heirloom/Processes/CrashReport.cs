namespace Heirloom.Processes;

/// <summary>A process ended with an unhandled exception. The exception never reaches the thread pool.</summary>
/// <param name="Pid">The process that crashed.</param>
/// <param name="RegisteredName">Its registered name when it crashed, if any.</param>
/// <param name="Exception">The unhandled exception, which is also the process's exit reason.</param>
public sealed record CrashReport(Pid Pid, string? RegisteredName, Exception Exception) : NodeReport(Pid);
