namespace Heirloom.Processes;

/// <summary>
/// A thread's view of the process it is running. A process's run ends when its body parks in a receive, so a thread
/// still running a process after that process's receive went on elsewhere is blocked inside the body on its own wait
/// (a call's <c>.Result</c> or <c>.Wait()</c>). The thread asking must be another one: the thread that parked a
/// process may well be the one running it again.
/// </summary>
internal sealed class ProcessThread
{
    [ThreadStatic]
    private static ProcessThread? t_current;

    private Process? _running;

    /// <summary>This thread's view. One thread-local read: the scheduler's per-thread state lives here, so a run reads
    /// it once and passes it on, where each thread-static field would cost a lookup of its own.</summary>
    public static ProcessThread Current => t_current ??= new ProcessThread();

    /// <summary>Whether this thread is inside a run of processes (a pool work item or a caller's run in place), so
    /// that the processes it wakes can wait in <see cref="RunNext"/>; written by this thread only.</summary>
    public bool RunsProcesses { get; set; }

    /// <summary>The process this thread woke last and runs next, while it <see cref="RunsProcesses"/>; this thread only.</summary>
    public Process? RunNext { get; set; }

    /// <summary>The process this thread is running; written by this thread only.</summary>
    public Process? Running
    {
        get => Volatile.Read(ref _running);
        set => _running = value;
    }

    /// <summary>
    /// Whether this thread is still running <paramref name="process"/>, waiting up to <paramref name="grace"/> for it
    /// to stop (a thread merely slow to return from parking does so in far less). Asked from another thread.
    /// </summary>
    public bool IsStillRunning(Process process, TimeSpan grace)
    {
        var deadline = Environment.TickCount64 + (long)grace.TotalMilliseconds;
        var spinner = default(SpinWait);
        while (Running == process)
        {
            if (Environment.TickCount64 > deadline)
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: 10);
        }

        return false;
    }
}
