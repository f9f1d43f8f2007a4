namespace Heirloom.Processes;

/// <summary>
/// A message that may outlive the process it was sent to: one left unreceived in the mailbox of a process that hands
/// its messages on (<see cref="Process.HandsOnMessages"/>) is told of that process's exit once the process's code has
/// stopped, and may go on to the next process registered under the name it was sent to (see
/// <see cref="NameSuccession"/>). A call to a server by its registered name is one.
/// </summary>
internal interface IHandedOnMessage
{
    /// <summary>Whether the message is settled (answered or given up), so that no process needs it any more.</summary>
    bool IsSettled { get; }

    /// <summary>Its receiver exited without taking it. Runs on the thread that finished the receiver's code, once per
    /// message left; it must be short and must not block.</summary>
    /// <param name="receiver">The process that exited.</param>
    /// <param name="reason">Why it exited.</param>
    void OnReceiverExited(Process receiver, ExitReason reason);

    /// <summary>No process will take it: the name it waits for is not registered and no successor is expected.</summary>
    void NoSuccessor();
}
