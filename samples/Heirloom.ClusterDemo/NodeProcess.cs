using System.Diagnostics;

namespace Heirloom.ClusterDemo;

/// <summary>
/// A cluster node running as its own OS process (this program with "node"), and what it reported on standard output:
/// when it became the owner, the keys whose writes it acknowledged, when it was fenced. Killing it is SIGKILL.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<long> _acknowledged = [];
    private readonly List<string> _log = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private TaskCompletionSource<long> _owner = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(string nodeId, Process process)
    {
        NodeId = nodeId;
        _process = process;
        _reading = Task.WhenAll(Task.Run(ReadAsync), Task.Run(ReadLogAsync));
    }

    public string NodeId { get; }

    /// <summary>The node program's assembly: this one, unless a host whose own dependencies differ (one on ASP.NET
    /// Core's shared framework, say) points at the demo's own build output.</summary>
    public static string Program { get; set; } = typeof(NodeProcess).Assembly.Location;

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>When its worker last got the table (Stopwatch ticks); 0 if never.</summary>
    public long OwnerSince { get; private set; }

    public int Fencings { get; private set; }

    public string? LastFencing { get; private set; }

    /// <summary>Completes when the node's worker gets the table (the next time, after <see cref="ExpectOwnership"/>).</summary>
    public Task<long> BecameOwner => _owner.Task;

    public int AcknowledgedCount
    {
        get
        {
            lock (_lock)
            {
                return _acknowledged.Count;
            }
        }
    }

    /// <summary>Starts a node of the cluster in <paramref name="schema"/>: this program, run with "node", optionally
    /// under a wrapping command (<paramref name="wrapper"/>, such as <c>ip netns exec NAME</c>).</summary>
    public static async Task<NodeProcess> StartAsync(string connectionString, string schema, string nodeId, int writers = 16, IReadOnlyList<string>? wrapper = null)
    {
        var start = new ProcessStartInfo { FileName = wrapper is [var program, ..] ? program : "dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (wrapper ?? []).Skip(1).Concat(wrapper is null ? [] : ["dotnet"]))
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add(Program);

        foreach (var argument in (string[])["node", connectionString, schema, nodeId, writers.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        var node = new NodeProcess(nodeId, Process.Start(start)!);
        var ready = await Task.WhenAny(node._ready.Task, node._reading, Task.Delay(TimeSpan.FromSeconds(60)));
        if (ready != node._ready.Task)
        {
            node.Kill();
            throw new InvalidOperationException($"Cluster node {nodeId} did not start: it {(ready == node._reading ? "exited" : "was not ready within 60 s")}.");
        }

        return node;
    }

    /// <summary>Arms <see cref="BecameOwner"/> for the next takeover.</summary>
    public void ExpectOwnership()
    {
        lock (_lock)
        {
            if (_owner.Task.IsCompleted)
            {
                _owner = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>What the node logged on standard error (takeovers, fencing, connection losses), oldest first.</summary>
    public string[] Log()
    {
        lock (_lock)
        {
            return [.. _log];
        }
    }

    public long[] Acknowledged()
    {
        lock (_lock)
        {
            return [.. _acknowledged];
        }
    }

    /// <summary>SIGKILL: no cleanup, no goodbye to PostgreSQL.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>SIGSTOP or SIGCONT: the process freezes or resumes, its connections open and silent meanwhile.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with {kill.ExitCode}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        await _reading;
        _process.Dispose();
    }

    private async Task ReadLogAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_lock)
            {
                _log.Add(line);
            }
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("ACK ", StringComparison.Ordinal))
            {
                var key = long.Parse(line.AsSpan(4), System.Globalization.CultureInfo.InvariantCulture);
                lock (_lock)
                {
                    _acknowledged.Add(key);
                }
            }
            else if (line.StartsWith("OWNER ", StringComparison.Ordinal))
            {
                OwnerSince = Stopwatch.GetTimestamp();
                lock (_lock)
                {
                    _owner.TrySetResult(OwnerSince);
                }
            }
            else if (line.StartsWith("FENCED ", StringComparison.Ordinal))
            {
                Fencings++;
                LastFencing = line[7..];
                OwnerSince = 0;
            }
            else if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                _ready.TrySetResult();
            }
        }
    }
}
