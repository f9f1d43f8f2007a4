namespace Heirloom.Behaviours;

/// <summary>What a supervisor restarts when a child exits (OTP's <c>strategy</c>).</summary>
public enum SupervisorStrategy
{
    /// <summary>Only the child that exited.</summary>
    OneForOne,

    /// <summary>All children: the others are stopped (in reverse start order) and all are started again in order.</summary>
    OneForAll,

    /// <summary>The child that exited and the children started after it.</summary>
    RestForOne,

    /// <summary>Dynamic children, all of one spec, started with <see cref="Supervisor.StartChildAsync(Processes.Pid, object?)"/>; restarted one for one.</summary>
    SimpleOneForOne,
}
