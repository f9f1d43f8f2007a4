namespace Heirloom.Processes;

/// <summary>
/// An exit signal turned into a message, received by a process that traps exits
/// (Erlang's <c>{'EXIT', From, Reason}</c>).
/// </summary>
/// <param name="From">The process the signal came from; <see cref="Pid.None"/> when the node sent it.</param>
/// <param name="Reason">The signal's reason.</param>
public sealed record ExitSignal(Pid From, ExitReason Reason);
