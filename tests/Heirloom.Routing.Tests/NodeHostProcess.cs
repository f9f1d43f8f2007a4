using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Heirloom.Routing.Tests;

/// <summary>A node as its own OS process (tests/Heirloom.Routing.NodeHost), calling the "ledger" table under load once
/// told to go, and each call's outcome as it reported it. Killing it is SIGKILL.</summary>
internal sealed class NodeHostProcess : IAsyncDisposable
{
    private static readonly string s_program = typeof(Heirloom.Routing.NodeHost.CountingWorker).Assembly.Location;

    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private int _moves;

    private NodeHostProcess(string nodeId, Process process)
    {
        NodeId = nodeId;
        _process = process;
        _reading = Task.WhenAll(Task.Run(ReadAsync), Task.Run(() => _process.StandardError.ReadToEndAsync()));
    }

    public string NodeId { get; }

    /// <summary>Every call's outcome: its kind (A acknowledged, N not started, U unknown, X untyped), key, duration
    /// and exception.</summary>
    public ConcurrentQueue<(char Kind, long Key, long Milliseconds, string Error)> Outcomes { get; } = new();

    /// <summary>How many planned hand-offs of a table this node made (moves by rebalancing, or by its stopping).</summary>
    public int Moves => Volatile.Read(ref _moves);

    public static async Task<NodeHostProcess> StartAsync(string connectionString, string schema, string nodeId, int callers, int timeoutMs, long keyBase, int tables = 1)
    {
        var start = new ProcessStartInfo { FileName = "dotnet", RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in (string[])[s_program, "node", connectionString, schema, nodeId, $"{callers}", $"{timeoutMs}", "true", keyBase.ToString(CultureInfo.InvariantCulture), $"{tables}"])
        {
            start.ArgumentList.Add(argument);
        }

        var node = new NodeHostProcess(nodeId, Process.Start(start)!);
        var ready = await Task.WhenAny(node._ready.Task, node._reading, Task.Delay(TimeSpan.FromSeconds(60)));
        if (ready != node._ready.Task)
        {
            node.Kill();
            throw new InvalidOperationException($"Node {nodeId} did not start: it {(ready == node._reading ? "exited" : "was not ready within 60 s")}.");
        }

        return node;
    }

    public void Go() => Send("GO");

    /// <summary>Stops the process (SIGSTOP) without closing anything: its connections stay open and say nothing, as a
    /// node stalled by a long pause would.</summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Lets a frozen process go on (SIGCONT).</summary>
    public void Thaw() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Stops the callers and waits for their last outcomes.</summary>
    public async Task StopAsync()
    {
        Send("STOP");
        await _done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        await _reading;
        _process.Dispose();
    }

    private void Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                _ready.TrySetResult(line[6..]);
            }
            else if (line == "DONE")
            {
                _done.TrySetResult();
            }
            else if (line.StartsWith("MOVED ", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _moves);
            }
            else if (line.Split(' ', 4) is [{ Length: 1 } kind, var key, var ms, .. var rest])
            {
                Outcomes.Enqueue((kind[0], long.Parse(key, CultureInfo.InvariantCulture), long.Parse(ms, CultureInfo.InvariantCulture), rest.FirstOrDefault() ?? ""));
            }
        }
    }
}
