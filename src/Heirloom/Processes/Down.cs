namespace Heirloom.Processes;

/// <summary>
/// The message a monitoring process receives, exactly once, when the monitored process exits
/// (Erlang's <c>{'DOWN', Ref, process, Pid, Reason}</c>). Monitoring a dead pid gives <see cref="ExitReason.NoProc"/> at once.
/// </summary>
/// <param name="Ref">The monitor that fired.</param>
/// <param name="Pid">The monitored process; <see cref="Pid.None"/> when a monitor by name found no process.</param>
/// <param name="Reason">Why it exited.</param>
public sealed record Down(MonitorRef Ref, Pid Pid, ExitReason Reason)
{
    /// <summary>For a monitor by registered name (<see cref="ProcessContext.Monitor(string)"/>), the name, as OTP's
    /// DOWN carries <c>{Name, Node}</c>; null for a monitor by pid.</summary>
    public string? Name { get; init; }
}
