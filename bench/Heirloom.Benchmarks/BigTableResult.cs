namespace Heirloom.Benchmarks;

/// <summary>What one store measured in the big-table run; what a child process prints, as JSON, for the driver.</summary>
/// <param name="Store">The store's name.</param>
/// <param name="GcMode">The collector that ran (server or workstation, and its latency mode).</param>
/// <param name="FillMilliseconds">Time to insert every entry.</param>
/// <param name="UpdateNanoseconds">Per update: a random existing key's value replaced by a new string.</param>
/// <param name="LookupNanoseconds">Per lookup of a random existing key.</param>
/// <param name="GcPercent">Time paused for collection (<c>GC.GetTotalPauseDuration</c>'s growth) over the wall time
/// of the update and lookup phases, in percent.</param>
/// <param name="PausedMilliseconds">That pause time, in milliseconds.</param>
/// <param name="LongestPauseMilliseconds">The longest single pause in those phases (<see cref="GcPauseListener"/>).</param>
/// <param name="Collections">Collections in those phases, of generations 0, 1 and 2.</param>
/// <param name="ListenedPauses">Pauses the listener saw in those phases.</param>
/// <param name="ListenedPauseMilliseconds">Their total, to set beside the runtime's own (GcPercent's numerator).</param>
/// <param name="MedianPauseMilliseconds">The median of those pauses: with the longest, whether one pause stands apart
/// (a collection that did more work, or a thread that waited for a core while the others were stopped).</param>
/// <param name="PausesOver10Milliseconds">How many of those pauses took longer than 10 ms.</param>
/// <param name="ManagedBytesPerEntry">Growth of the managed heap over the fill, after a full collection, per entry.</param>
/// <param name="NativeBytesPerEntry">Memory outside the managed heap the store reports, per entry.</param>
internal sealed record BigTableResult(
    string Store,
    string GcMode,
    double FillMilliseconds,
    double UpdateNanoseconds,
    double LookupNanoseconds,
    double GcPercent,
    double PausedMilliseconds,
    double LongestPauseMilliseconds,
    int[] Collections,
    int ListenedPauses,
    double ListenedPauseMilliseconds,
    double MedianPauseMilliseconds,
    int PausesOver10Milliseconds,
    double ManagedBytesPerEntry,
    double NativeBytesPerEntry)
{
    public double BytesPerEntry => ManagedBytesPerEntry + NativeBytesPerEntry;
}
