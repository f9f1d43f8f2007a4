using BenchmarkDotNet.Attributes;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>BenchmarkDotNet's view of the process measures; each invocation runs a batch inside one process.</summary>
[MemoryDiagnoser]
public class ProcessBenchmarks
{
    private const int Batch = 10_000;
    private Node _node = null!;

    [GlobalSetup]
    public void Setup() => _node = new Node();

    [GlobalCleanup]
    public void Cleanup() => _node.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<double> PingPongRoundTrip() => ProcessWorkloads.PingPongAsync(_node, Batch);

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<double> SpawnExitReply() => ProcessWorkloads.SpawnExitAsync(_node, Batch);

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<double> SpawnMonitorDown() => ProcessWorkloads.SpawnMonitorDownAsync(_node, Batch);
}
