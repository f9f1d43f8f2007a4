namespace Heirloom.Behaviours;

/// <summary>What <see cref="Supervisor.CountChildrenAsync"/> returns (OTP's count_children).</summary>
/// <param name="Specs">Child specs (1 for SimpleOneForOne: its template).</param>
/// <param name="Active">Children running.</param>
/// <param name="Supervisors">Children of type supervisor, running or not.</param>
/// <param name="Workers">Children of type worker, running or not.</param>
public sealed record ChildCounts(int Specs, int Active, int Supervisors, int Workers);
