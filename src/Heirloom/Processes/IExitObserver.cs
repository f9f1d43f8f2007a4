namespace Heirloom.Processes;

/// <summary>
/// Code outside any process told of a process's exit the way a monitoring process is (once, after the exit's links
/// are signalled, in monitor order), without being a process: a call from outside the runtime watches its server so.
/// </summary>
internal interface IExitObserver
{
    /// <summary>Runs on the thread finishing the exit, which is running other exits' steps too: it must be short and
    /// must not block.</summary>
    /// <param name="reference">The monitor that fired.</param>
    /// <param name="pid">The process that exited.</param>
    /// <param name="reason">Why it exited.</param>
    void OnExit(MonitorRef reference, Pid pid, ExitReason reason);
}
