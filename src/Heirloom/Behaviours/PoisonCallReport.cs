using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// A call's handler crashed a server that hands its queued calls to its successor
/// (<see cref="QueuedCallsOnCrash.HandToSuccessor"/>), reported through <see cref="Node.Reported"/> before the crash
/// itself. The call failed with the crash (its caller learns the handler had started) and is not handed on, so a
/// request that crashes its server cannot crash the successor too; the calls queued behind it are handed on.
/// </summary>
/// <param name="Pid">The server that crashed.</param>
/// <param name="RegisteredName">Its registered name, if any.</param>
/// <param name="Request">The request whose handler crashed it.</param>
/// <param name="Exception">The handler's exception, the server's exit reason.</param>
public sealed record PoisonCallReport(Pid Pid, string? RegisteredName, object Request, Exception Exception) : NodeReport(Pid);
