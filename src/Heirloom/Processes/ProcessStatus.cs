namespace Heirloom.Processes;

/// <summary>What a process is doing, for introspection.</summary>
public enum ProcessStatus
{
    /// <summary>Running its code, or awaiting something other than its mailbox.</summary>
    Running,

    /// <summary>Waiting in a receive for a message.</summary>
    Waiting,

    /// <summary>Queued on the thread pool to run.</summary>
    Runnable,

    /// <summary>Exited; the process will never run again.</summary>
    Exited,
}
