namespace Heirloom.Processes;

/// <summary>
/// Something a process owns that must be passed on or released when the process exits (a table goes to its heir or
/// is deleted). This is how layers above the process kernel attach to a process's exit without the kernel knowing
/// them: the kernel calls <see cref="OnOwnerExit"/> first thing after the exit, before the name is freed and before
/// links and monitors fire, so whoever sees the EXIT or DOWN already sees the resource passed on.
/// </summary>
internal interface IProcessOwned
{
    /// <summary>The owner has exited; runs once, on the thread that ended the process.</summary>
    /// <param name="owner">The process that exited.</param>
    void OnOwnerExit(Process owner);
}
