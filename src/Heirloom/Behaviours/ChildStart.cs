using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// Starts a child, running in the supervisor's process (OTP's start <c>{M, F, A}</c>). It should link the child to
/// the supervisor (<see cref="ProcessContext.SpawnLink"/>, <see cref="GenServer.StartLinkAsync"/>); the supervisor
/// links it anyway. Returning <see cref="Pid.None"/> means <c>ignore</c>; throwing is a failed start.
/// </summary>
/// <param name="supervisor">The supervisor's process.</param>
/// <param name="argument">For <see cref="SupervisorStrategy.SimpleOneForOne"/>, the argument given to
/// <see cref="Supervisor.StartChildAsync(Pid, object?)"/>; otherwise null.</param>
/// <returns>The child's pid.</returns>
public delegate Task<Pid> ChildStart(ProcessContext supervisor, object? argument);
