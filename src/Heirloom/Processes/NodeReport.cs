namespace Heirloom.Processes;

/// <summary>Something the node reports through <see cref="Node.Reported"/>: crashes, supervisor restarts.</summary>
/// <param name="Pid">The process the report is about.</param>
public abstract record NodeReport(Pid Pid);
