using BenchmarkDotNet.Attributes;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>BenchmarkDotNet's view of the GenServer call round trip: from inside a process (each invocation runs a
/// batch inside one process) and from outside any process (a thread-pool caller, as a web request handler is).</summary>
[MemoryDiagnoser]
public class BehaviourBenchmarks
{
    private const int Batch = 10_000;
    private Node _node = null!;
    private Pid _echo;

    [GlobalSetup]
    public void Setup()
    {
        _node = new Node();
        _echo = GenServer.StartAsync(_node, () => new Echo()).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _node.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch)]
    public Task<double> GenServerCall() => BehaviourWorkloads.GenServerCallAsync(_node, Batch);

    /// <summary>A call from outside any process with the default timeout (5 s), awaited before the next.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task CallFromOutside()
    {
        for (var i = 0; i < Batch; i++)
        {
            await GenServer.CallAsync(_echo, "ping");
        }
    }

    /// <summary>A call from outside any process that waits for ever (no timer at all).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task CallFromOutsideWithoutTimeout()
    {
        for (var i = 0; i < Batch; i++)
        {
            await GenServer.CallAsync(_echo, "ping", Timeout.InfiniteTimeSpan);
        }
    }

    private sealed class Echo : GenServer
    {
        protected override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(request));
    }
}
