using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>A supervisor's report through <see cref="Node.Reported"/> (OTP's supervisor reports).</summary>
/// <param name="Pid">The supervisor.</param>
/// <param name="Event">What happened.</param>
/// <param name="ChildId">The child's id; null for a SimpleOneForOne child or the supervisor itself.</param>
/// <param name="Child">The child's pid (the new one for a restart); <see cref="Pid.None"/> when there is none.</param>
/// <param name="Reason">The child's exit reason, or why a start failed.</param>
public sealed record SupervisorReport(Pid Pid, SupervisorEvent Event, string? ChildId, Pid Child, ExitReason Reason) : NodeReport(Pid);
