using BenchmarkDotNet.Attributes;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>BenchmarkDotNet's view of the GenServer call round trip; each invocation runs a batch inside one process.</summary>
[MemoryDiagnoser]
public class BehaviourBenchmarks
{
    private const int Batch = 10_000;
    private Node _node = null!;

    [GlobalSetup]
    public void Setup() => _node = new Node();

    [GlobalCleanup]
    public void Cleanup() => _node.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<double> GenServerCall() => BehaviourWorkloads.GenServerCallAsync(_node, Batch);
}
