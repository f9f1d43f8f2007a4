using System.Globalization;
using Heirloom.Peers;

// Usage: dotnet run -c Release --project bench/Heirloom.Peers -- [--rounds N] [--quick]
var quick = args.Contains("--quick");
var roundsAt = Array.IndexOf(args, "--rounds");
var rounds = roundsAt >= 0 && roundsAt + 1 < args.Length ? int.Parse(args[roundsAt + 1], CultureInfo.InvariantCulture) : quick ? 2 : 5;
var sizes = quick ? Sizes.Quick : Sizes.Full;

IPeer[] peers = [new HeirloomPeer(), new AkkaPeer(), new ProtoPeer(), new OrleansPeer()];
foreach (var peer in peers)
{
    await peer.StartAsync();
}

var harness = new Harness(peers, sizes, rounds);
var loadBefore = Harness.LoadAverage();
await harness.RunAsync();
harness.Print(loadBefore, Harness.LoadAverage());
foreach (var peer in peers)
{
    await peer.DisposeAsync();
}
