namespace Heirloom.Hosting.Tests;

/// <summary>Tests whose assertions are deadlines in real time run with no other test beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WallClockCollection
{
    public const string Name = "wall clock";
}
