using Orleans.Placement;

namespace Heirloom.Peers;

#pragma warning disable CA1515 // Orleans' code generator needs the grain interfaces public.

/// <summary>The grain the routing benchmark calls from the other silo.</summary>
public interface IRoutedEchoGrain : IGrainWithIntegerKey
{
    Task<string> Echo(string request);
}

/// <summary>Activated where first called (the serving silo calls it once at start), so the other silo's calls cross
/// processes.</summary>
[PreferLocalPlacement]
internal sealed class RoutedEchoGrain : Grain, IRoutedEchoGrain
{
    public Task<string> Echo(string request) => Task.FromResult(request);
}
