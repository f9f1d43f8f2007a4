using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Heirloom.Processes;

/// <summary>
/// A process's own handle on itself, given to its body: receive, spawn, link, monitor and trap exits. Everything here
/// except <see cref="Self"/>, <see cref="Node"/>, <see cref="Parent"/> and <see cref="Current"/> must be called by the
/// process itself (from its body), which never runs two things at once. Other processes reach it through its
/// <see cref="Pid"/>.
/// </summary>
/// <remarks>The handle is the kernel's record of the process seen through its public face, so a process costs no
/// separate handle object; no other type can derive from it.</remarks>
[DebuggerDisplay("{Self}")]
public abstract class ProcessContext
{
    private protected ProcessContext(Node node, Pid parent)
    {
        Node = node;
        Parent = parent;
    }

    /// <summary>The process the calling code runs in, or null outside any process.</summary>
    public static ProcessContext? Current => Process.CurrentProcess;

    /// <summary>This process's pid.</summary>
    public Pid Self => new(Process);

    /// <summary>The node this process lives on.</summary>
    public Node Node { get; }

    /// <summary>The process that spawned this one; <see cref="Pid.None"/> when spawned from outside any process.</summary>
    public Pid Parent { get; }

    /// <summary>
    /// Whether exit signals from links and <see cref="Exit(Pid, ExitReason)"/> arrive as <see cref="ExitSignal"/>
    /// messages instead of killing this process. <see cref="ExitReason.Kill"/> can never be trapped.
    /// </summary>
    public bool TrapExit
    {
        get => Process.TrapsExits;
        set => Process.TrapsExits = value;
    }

    // The only derived type is Process (the constructor is private protected and Process is sealed).
    internal Process Process => Unsafe.As<Process>(this);

    /// <summary>Sends a message to a process; never blocks, never throws for a dead pid.</summary>
    /// <param name="to">The receiver.</param>
    /// <param name="message">The message; may not be null.</param>
    public void Send(Pid to, object message) => to.Send(message);

    /// <summary>Spawns a process whose parent is this one.</summary>
    /// <param name="body">The new process's code.</param>
    public Pid Spawn(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: null, monitor: null, out _);

    /// <summary>Spawns a process linked to this one, atomically: the link exists before the child runs.</summary>
    /// <param name="body">The new process's code.</param>
    public Pid SpawnLink(Func<ProcessContext, Task> body) => Node.SpawnCore(body, Self, link: Process, monitor: null, out _);

    /// <summary>Spawns a process monitored by this one, atomically: the monitor exists before the child runs.</summary>
    /// <param name="body">The new process's code.</param>
    /// <returns>The child's pid and the monitor's reference.</returns>
    public (Pid Pid, MonitorRef Monitor) SpawnMonitor(Func<ProcessContext, Task> body)
    {
        var pid = Node.SpawnCore(body, Self, link: null, monitor: Process, out var monitor);
        return (pid, monitor);
    }

    /// <summary>Waits for the next message in arrival order.</summary>
    public ValueTask<object> ReceiveAsync()
    {
        var pending = Process.ReceiveCore(null, null, Timeout.Infinite);

        // Only a timeout completes the receive with null, and an infinite wait has none.
        return Unsafe.As<ValueTask<object?>, ValueTask<object>>(ref pending);
    }

    /// <summary>Waits for the next message, or returns null when <paramref name="timeout"/> passes first
    /// (Erlang's <c>receive ... after T</c>). A zero timeout only looks at messages already there.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(TimeSpan timeout) => Process.ReceiveCore(null, null, Process.ToMilliseconds(timeout));

    /// <summary>Selective receive: waits for the oldest message that <paramref name="match"/> accepts, leaving the
    /// others in the mailbox in their order; returns null when <paramref name="timeout"/> passes first.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(Func<object, bool> match, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return Process.ReceiveCore(Process.s_invokeMatch, match, Process.ToMilliseconds(timeout));
    }

    /// <summary>Selective receive with a state for the predicate, so that a static lambda needs no closure: waits for
    /// the oldest message for which <paramref name="match"/>(message, <paramref name="state"/>) is true; returns null
    /// when <paramref name="timeout"/> passes first.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    /// <param name="state">Passed to <paramref name="match"/>.</param>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    public ValueTask<object?> ReceiveAsync(Func<object, object?, bool> match, object? state, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(match);
        return Process.ReceiveCore(match, state, Process.ToMilliseconds(timeout));
    }

    /// <summary>Selective receive without a timeout: waits for the oldest message that <paramref name="match"/> accepts.</summary>
    /// <param name="match">Which message to take. It runs on this process and must not throw.</param>
    public ValueTask<object> ReceiveAsync(Func<object, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var pending = Process.ReceiveCore(Process.s_invokeMatch, match, Timeout.Infinite);
        return Unsafe.As<ValueTask<object?>, ValueTask<object>>(ref pending);
    }

    /// <summary>
    /// Links this process to another, both ways. When either exits with a reason other than
    /// <see cref="ExitReason.Normal"/>, the other gets an exit signal. Linking to a dead process, as OTP 25's
    /// <c>link/1</c>: a process trapping exits receives <c>ExitSignal(pid, NoProc)</c> at once; any other gets a
    /// <see cref="NoProcessException"/>, which it may catch. Linking twice is the same as linking once; linking to
    /// itself does nothing.
    /// </summary>
    /// <param name="pid">The process to link to; it must live on the same node.</param>
    /// <exception cref="NoProcessException">The process is dead and this process does not trap exits.</exception>
    public void Link(Pid pid) => Process.LinkCore(pid);

    /// <summary>Removes the link between this process and another, both ways; does nothing when there is none.</summary>
    /// <param name="pid">The linked process.</param>
    public void Unlink(Pid pid) => Process.UnlinkCore(pid);

    /// <summary>
    /// Monitors another process: when it exits, this process receives <see cref="Down"/> exactly once.
    /// Monitoring a process that is already dead delivers <c>Down(..., NoProc)</c> at once.
    /// </summary>
    /// <param name="pid">The process to watch; it must live on the same node.</param>
    /// <returns>The monitor's reference, which the <see cref="Down"/> carries.</returns>
    public MonitorRef Monitor(Pid pid) => Process.MonitorCore(pid);

    /// <summary>
    /// Monitors the process registered under a name, as OTP's <c>monitor(process, Name)</c>: the name is looked up
    /// once, now; when that process exits, the <see cref="Down"/> carries the name in <see cref="Down.Name"/>. When no
    /// process has the name, <c>Down(..., Pid.None, NoProc)</c> with the name arrives at once.
    /// </summary>
    /// <param name="name">The registered name.</param>
    /// <returns>The monitor's reference, which the <see cref="Down"/> carries.</returns>
    public MonitorRef Monitor(string name) => Process.MonitorCore(name);

    /// <summary>
    /// Removes a monitor. When <paramref name="flush"/> is true, a <see cref="Down"/> for it that was already sent is
    /// removed from the mailbox too, so none is ever received; otherwise such a Down is still received.
    /// </summary>
    /// <param name="reference">The monitor, as <see cref="Monitor(Pid)"/> returned it.</param>
    /// <param name="flush">Whether to discard a Down already sent for this monitor.</param>
    /// <returns>True when the monitor was removed before it fired; false when it had fired or was unknown.</returns>
    public bool Demonitor(MonitorRef reference, bool flush = false) => Process.DemonitorCore(reference, flush);

    /// <summary>
    /// Sends an exit signal, as <c>erlang:exit(Pid, Reason)</c>: <see cref="ExitReason.Kill"/> kills the target
    /// (its reason becomes <see cref="ExitReason.Killed"/>); <see cref="ExitReason.Normal"/> is ignored unless
    /// the target traps exits (it gets an <see cref="ExitSignal"/> message) or is this process itself and does not
    /// trap exits (it exits normally); any other reason kills a non-trapping target, and reaches a trapping one as an
    /// <see cref="ExitSignal"/> message.
    /// </summary>
    /// <param name="pid">The target.</param>
    /// <param name="reason">The signal's reason.</param>
    public void Exit(Pid pid, ExitReason reason) => Process.ExitCore(pid, reason);

    /// <summary>
    /// Asks for a <see cref="NameRegistered"/> message the next time <paramref name="name"/> is registered (once; watch
    /// again for the next). To wait for a name without missing it, watch first, then check <see cref="Node.WhereIs"/>.
    /// </summary>
    /// <param name="name">The name.</param>
    public void WatchName(string name) => Process.WatchNameCore(name);

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="pid"/> after <paramref name="delay"/> on the node's
    /// <see cref="Node.TimeProvider"/>, as <c>erlang:send_after/3</c>. The timer is cancelled when the target exits (a
    /// timer to a dead process is never delivered), and by <see cref="CancelTimer"/>.
    /// </summary>
    /// <param name="pid">The receiver.</param>
    /// <param name="message">The message; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, to cancel or read it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    public TimerRef SendAfter(Pid pid, object message, TimeSpan delay) => Node.SendAfter(pid, message, delay);

    /// <summary>
    /// Sends <paramref name="message"/>, after <paramref name="delay"/>, to the process registered as
    /// <paramref name="name"/> when the timer fires (nothing is sent if none is), as <c>erlang:send_after/3</c> with a
    /// registered name.
    /// </summary>
    /// <param name="name">The registered name, looked up when the timer fires.</param>
    /// <param name="message">The message; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, to cancel or read it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    public TimerRef SendAfter(string name, object message, TimeSpan delay) => Node.SendAfter(name, message, delay);

    /// <summary>
    /// Starts a timer that sends this process a <see cref="TimerFired"/> carrying the timer and
    /// <paramref name="message"/> after <paramref name="delay"/>, as <c>erlang:start_timer/3</c> with <c>self()</c>. The
    /// timer ends with the process.
    /// </summary>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <param name="message">The message the <see cref="TimerFired"/> carries; may not be null.</param>
    /// <returns>The timer, which the <see cref="TimerFired"/> names.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    public TimerRef StartTimer(TimeSpan delay, object message) => Node.StartTimer(Self, message, delay);

    /// <summary>
    /// Starts a timer that sends <paramref name="pid"/> a <see cref="TimerFired"/> carrying the timer and
    /// <paramref name="message"/> after <paramref name="delay"/>, as <c>erlang:start_timer/3</c>. The timer is cancelled
    /// when the target exits.
    /// </summary>
    /// <param name="pid">The receiver.</param>
    /// <param name="message">The message the <see cref="TimerFired"/> carries; may not be null.</param>
    /// <param name="delay">How long from now; <see cref="TimeSpan.Zero"/> or more.</param>
    /// <returns>The timer, which the <see cref="TimerFired"/> names.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or longer than about 49 days.</exception>
    public TimerRef StartTimer(Pid pid, object message, TimeSpan delay) => Node.StartTimer(pid, message, delay);

    /// <summary>
    /// Cancels a timer, as <c>erlang:cancel_timer/1</c>: the time that was left, or null when the timer had fired
    /// (its message may be in a mailbox already), was cancelled, ended with its target, or is unknown.
    /// </summary>
    /// <param name="timer">The timer.</param>
    /// <returns>The time that was left; null when there was no pending timer to cancel.</returns>
    public TimeSpan? CancelTimer(TimerRef timer) => Node.CancelTimer(timer);

    /// <summary>The time left on a pending timer, as <c>erlang:read_timer/1</c>; null when it is not pending.</summary>
    /// <param name="timer">The timer.</param>
    public TimeSpan? ReadTimer(TimerRef timer) => Node.ReadTimer(timer);

    /// <summary>Prints the process as its pid.</summary>
    public override string ToString() => Self.ToString();
}
