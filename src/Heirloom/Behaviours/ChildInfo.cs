using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>One child as <see cref="Supervisor.WhichChildrenAsync"/> lists it.</summary>
/// <param name="Id">The child's id; for a <see cref="SupervisorStrategy.SimpleOneForOne"/> child, null.</param>
/// <param name="Pid">Its pid; <see cref="Pid.None"/> when it is not running.</param>
/// <param name="Type">Worker or supervisor.</param>
public sealed record ChildInfo(string? Id, Pid Pid, ChildType Type);
