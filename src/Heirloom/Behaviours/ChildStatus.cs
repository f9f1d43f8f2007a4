using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>One child in a <see cref="SupervisorStatus"/>.</summary>
/// <param name="Id">Its id; null for a SimpleOneForOne child.</param>
/// <param name="Pid">Its pid; <see cref="Pid.None"/> while it is not running.</param>
/// <param name="Type">Worker or supervisor.</param>
/// <param name="Restarts">How many times the supervisor restarted it.</param>
public sealed record ChildStatus(string? Id, Pid Pid, ChildType Type, long Restarts);
