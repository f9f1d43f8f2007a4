using BenchmarkDotNet.Running;
using Heirloom.Benchmarks;

// `compare` runs the side-by-side table against Erlang/OTP, `durability` the durable-table measures, `cluster` the
// clustered-table measures, `web` the load on the web sample, `big-table` ten-million-entry tables and the collector's
// pauses, `simulate` the simulated node's speed (seeds per minute of the demo tree, an idle hour); anything else goes to
// BenchmarkDotNet.
if (args.Length > 0 && args[0] == "compare")
{
    return await SideBySide.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "durability")
{
    return await DurabilityWorkloads.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "cluster")
{
    return await ClusterWorkloads.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "big-table")
{
    return await BigTable.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "simulate")
{
    return SimulationWorkloads.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "web")
{
    return await WebLoad.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(SideBySide).Assembly).Run(args);
return 0;
