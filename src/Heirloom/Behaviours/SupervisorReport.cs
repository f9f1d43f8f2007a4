using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>A supervisor's report through <see cref="Node.Reported"/> (OTP's supervisor reports).</summary>
/// <param name="Pid">The supervisor.</param>
/// <param name="Event">What happened.</param>
/// <param name="ChildId">The child's id (for <see cref="SupervisorEvent.MaxIntensityReached"/>, the child whose exit
/// exceeded the intensity); null for a SimpleOneForOne child.</param>
/// <param name="Child">The child's pid: the one that exited for <see cref="SupervisorEvent.ChildTerminated"/>, the new
/// one for <see cref="SupervisorEvent.ChildRestarted"/>; <see cref="Pid.None"/> when there is none.</param>
/// <param name="Reason">The exit reason that led to the event (for a restart, the failed child's, also when a
/// sibling is restarted with it), or why a start failed.</param>
public sealed record SupervisorReport(Pid Pid, SupervisorEvent Event, string? ChildId, Pid Child, ExitReason Reason) : NodeReport(Pid)
{
    /// <summary>The supervisor's <see cref="SupervisorOptions.Intensity"/>: with <see cref="Period"/>, the limit a
    /// <see cref="SupervisorEvent.MaxIntensityReached"/> report went past.</summary>
    public int Intensity { get; init; }

    /// <summary>The supervisor's <see cref="SupervisorOptions.Period"/>.</summary>
    public TimeSpan Period { get; init; }
}
