namespace Heirloom.Processes;

/// <summary>A name a process watched with <see cref="ProcessContext.WatchName(string)"/> has been registered.</summary>
/// <param name="Name">The name.</param>
/// <param name="Pid">The process that registered it.</param>
public sealed record NameRegistered(string Name, Pid Pid);
