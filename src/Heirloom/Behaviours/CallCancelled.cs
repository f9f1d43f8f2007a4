namespace Heirloom.Behaviours;

/// <summary>Wakes a caller waiting in a process when its call's cancellation token fires.</summary>
internal sealed record CallCancelled(CallFrom From);
