using System.Globalization;
using Heirloom.Peers;

// Routed calls between two node processes, Heirloom and Orleans (RoutingBench): ... -- routing [--seconds N] [--callers N]
if (args.Length > 0 && args[0].StartsWith("routing", StringComparison.Ordinal))
{
    return await RoutingBench.RunAsync(args);
}

// Usage: dotnet run -c Release --project bench/Heirloom.Peers -- [--rounds N] [--quick] [--only ping|spawn|skynet|call|restart|memory|state] [--runtime Akka|Proto|Orleans|Heirloom]
var quick = args.Contains("--quick");
var roundsAt = Array.IndexOf(args, "--rounds");
var rounds = roundsAt >= 0 && roundsAt + 1 < args.Length ? int.Parse(args[roundsAt + 1], CultureInfo.InvariantCulture) : quick ? 2 : 5;
var sizes = quick ? Sizes.Quick : Sizes.Full;
var onlyAt = Array.IndexOf(args, "--only");
var only = onlyAt >= 0 && onlyAt + 1 < args.Length ? args[onlyAt + 1] : null;

// --runtime NAME keeps Heirloom and that one peer (or Heirloom alone, with "Heirloom"), for profiling one side.
var runtimeAt = Array.IndexOf(args, "--runtime");
IPeer[] all = [new HeirloomPeer(), new AkkaPeer(), new ProtoPeer(), new OrleansPeer()];
IPeer[] peers = runtimeAt >= 0 && runtimeAt + 1 < args.Length
    ? all.Where((p, i) => i == 0 || p.Name.StartsWith(args[runtimeAt + 1], StringComparison.OrdinalIgnoreCase)).ToArray()
    : all;
foreach (var peer in peers)
{
    await peer.StartAsync();
}

var harness = new Harness(peers, sizes, rounds, only);
var loadBefore = Harness.LoadAverage();
await harness.RunAsync();
harness.Print(loadBefore, Harness.LoadAverage());
foreach (var peer in peers)
{
    await peer.DisposeAsync();
}

return 0;
