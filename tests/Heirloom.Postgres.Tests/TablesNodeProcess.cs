using System.Diagnostics;
using Heirloom.ClusterDemo;

namespace Heirloom.Postgres.Tests;

/// <summary>
/// A node serving many clustered tables as its own OS process (the cluster demo's program with "tables"), and what it
/// reported: the tables its workers hold now, when each was last gotten (Stopwatch ticks, as the node stamped the line),
/// and the writes it acknowledged. Killing it is SIGKILL; stopping it is SIGTERM (a graceful stop).
/// </summary>
internal sealed class TablesNodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _owned = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _gotAt = new(StringComparer.Ordinal);
    private readonly List<(string Table, long Key)> _acknowledged = [];
    private readonly List<(string Table, long At)> _sealed = [];
    private readonly List<(string Table, long At)> _got = [];
    private readonly List<string> _history = [];
    private readonly List<string> _log = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;

    private TablesNodeProcess(string nodeId, Process process)
    {
        NodeId = nodeId;
        _process = process;
        _reading = Task.WhenAll(Task.Run(ReadAsync), Task.Run(ReadLogAsync));
    }

    public string NodeId { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The tables this node's workers hold now.</summary>
    public HashSet<string> Owned
    {
        get
        {
            lock (_lock)
            {
                return [.. _owned.Keys];
            }
        }
    }

    public static async Task<TablesNodeProcess> StartAsync(string connectionString, string schema, string nodeId, int tables)
    {
        var start = new ProcessStartInfo { FileName = "dotnet", RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in (string[])[NodeProcess.Program, "tables", connectionString, schema, nodeId, tables.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        var node = new TablesNodeProcess(nodeId, Process.Start(start)!);
        var ready = await Task.WhenAny(node._ready.Task, node._reading, Task.Delay(TimeSpan.FromSeconds(90)));
        if (ready != node._ready.Task)
        {
            node.Kill();
            throw new InvalidOperationException($"Node {nodeId} did not start: it {(ready == node._reading ? "exited" : "was not ready within 90 s")}. {string.Join(" | ", node.Log().TakeLast(5))}");
        }

        return node;
    }

    /// <summary>When this node's worker last got <paramref name="table"/> (Stopwatch ticks), if it did.</summary>
    public long? GotAt(string table)
    {
        lock (_lock)
        {
            return _gotAt.TryGetValue(table, out var at) ? at : null;
        }
    }

    /// <summary>Asks the node to write <paramref name="key"/> to <paramref name="table"/>; its answer arrives as an
    /// acknowledgement, or not at all.</summary>
    public void Write(string table, long key)
    {
        lock (_lock)
        {
            _process.StandardInput.WriteLine($"W {table} {key}");
            _process.StandardInput.Flush();
        }
    }

    public (string Table, long Key)[] Acknowledged()
    {
        lock (_lock)
        {
            return [.. _acknowledged];
        }
    }

    /// <summary>Each planned hand-off this node started: the table, and when it stopped taking writes (Stopwatch
    /// ticks).</summary>
    public (string Table, long At)[] Sealed()
    {
        lock (_lock)
        {
            return [.. _sealed];
        }
    }

    /// <summary>Each time this node's worker got a table: the table, and when (Stopwatch ticks).</summary>
    public (string Table, long At)[] Got()
    {
        lock (_lock)
        {
            return [.. _got];
        }
    }

    /// <summary>What the node reported about <paramref name="table"/> (got, lost, took over, handed off, fenced), each
    /// with the milliseconds of the test's clock.</summary>
    public string[] History(string table)
    {
        lock (_lock)
        {
            return [.. _history.Where(h => h.EndsWith($" {table}", StringComparison.Ordinal))];
        }
    }

    public string[] Log()
    {
        lock (_lock)
        {
            return [.. _log];
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
        }
    }

    /// <summary>SIGTERM, and waits for the process to end: a graceful stop.</summary>
    public async Task StopAsync(TimeSpan within)
    {
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(within);
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
            // The node stamps each line with its event's time on the machine's monotonic clock (Stopwatch ticks are
            // comparable between processes), so a pipe read late does not move the event.
            if (line.Split(' ') is not [var stamp, .. var parts] || !long.TryParse(stamp, System.Globalization.CultureInfo.InvariantCulture, out var now))
            {
                continue;
            }

            lock (_lock)
            {
                if (parts is [var what, var name] && what != "READY")
                {
                    _history.Add($"{now / (Stopwatch.Frequency / 1000)} {NodeId[^1..]} {what} {name}");
                }

                switch (parts)
                {
                    case ["OWN", var table]:
                        _owned[table] = now;
                        _gotAt[table] = now;
                        _got.Add((table, now));
                        break;
                    case ["SEAL", var table]:
                        _sealed.Add((table, now));
                        break;
                    case ["GONE", var table]:
                        _owned.Remove(table);
                        break;
                    case ["ACK", var table, var key]:
                        _acknowledged.Add((table, long.Parse(key, System.Globalization.CultureInfo.InvariantCulture)));
                        break;
                    case ["READY", _]:
                        _ready.TrySetResult();
                        break;
                }
            }
        }
    }
}
