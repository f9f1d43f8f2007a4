namespace Heirloom.Behaviours;

/// <summary>A supervisor's settings and where it stands against its restart intensity (what observer shows).</summary>
/// <param name="Strategy">Its restart strategy.</param>
/// <param name="Intensity">The restarts it allows within <paramref name="Period"/>.</param>
/// <param name="Period">The window restarts are counted over.</param>
/// <param name="RecentRestarts">Restarts within the last <paramref name="Period"/>: the intensity used.</param>
/// <param name="Children">Its children, in start order.</param>
public sealed record SupervisorStatus(SupervisorStrategy Strategy, int Intensity, TimeSpan Period, int RecentRestarts, IReadOnlyList<ChildStatus> Children);
