namespace Heirloom.Behaviours;

/// <summary>What a <see cref="SupervisorReport"/> reports.</summary>
public enum SupervisorEvent
{
    /// <summary>A child exited with an abnormal reason.</summary>
    ChildTerminated,

    /// <summary>A child was restarted.</summary>
    ChildRestarted,

    /// <summary>Starting or restarting a child failed.</summary>
    StartFailed,

    /// <summary>The restart intensity was exceeded: the supervisor stops its children and exits with Shutdown.</summary>
    MaxIntensityReached,
}
