using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Heirloom.Behaviours;
using Heirloom.Diagnostics;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Dashboard;

/// <summary>
/// Gathers what the dashboard shows of one node: on demand, the trees, tables and processes; continuously, the last
/// crash and supervisor reports and a once-a-second history of restarts, crashes and fsync latency for the charts.
/// </summary>
internal sealed class NodeObserver : IDisposable
{
    private const int HistorySeconds = 300;
    private const int CrashLogLength = 100;

    private readonly Node _node;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<object> _reports = new();
    private readonly Lock _historyLock = new();
    private readonly Queue<HistoryPoint> _history = new();
    private readonly ITimer _sampler;
    // The counts at the last sample taken while a page watched; null when there was none.
    private Dictionary<Process, long>? _lastReceived;
    private Dictionary<Table, long>? _lastWritten;
    private readonly ConcurrentDictionary<string, long> _groupCommit = new(StringComparer.Ordinal);
    private int _watchers;
    private TaskCompletionSource _change = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _groupCommitRecords;
    private long _restarts;
    private long _crashes;
    private long _fsyncs;
    private double _fsyncSeconds;

    public NodeObserver(Node node)
    {
        _node = node;
        node.Reported += OnReported;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == HeirloomInstrumentation.MeterName && instrument.Name.StartsWith("heirloom.journal.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnFsync);
        _listener.SetMeasurementEventCallback<long>(OnGroupCommit);
        _listener.Start();
        // The history is sampled on the node's clock, as every other time of the node.
        _sampler = node.TimeProvider.CreateTimer(static observer => ((NodeObserver)observer!).Sample(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public Node Node => _node;

    /// <summary>Completes at the next report (a crash, a restart, a storage failure): something a page should see
    /// before its next regular update.</summary>
    public Task NextChangeAsync() => Volatile.Read(ref _change).Task;

    /// <summary>A page starts watching; disposing the result ends it. Message and write rates are sampled only
    /// while some page watches, since they read every process and table.</summary>
    public IDisposable Watch()
    {
        Interlocked.Increment(ref _watchers);
        return new Watcher(this);
    }

    public void Dispose()
    {
        _node.Reported -= OnReported;
        _sampler.Dispose();
        _listener.Dispose();
    }

    /// <summary>Everything the page shows but the process list.</summary>
    public async Task<object> SnapshotAsync()
    {
        // Behaviours are looked up per process without building its whole info: cheap with many processes.
        var supervisors = _node.LiveProcesses.Where(p => p.IsAlive && p.Behaviour == typeof(Supervisor)).ToList();
        var roots = supervisors.Where(s => s.Parent.IsNone || !s.Parent.IsAlive || s.Parent.Resolve().Behaviour != typeof(Supervisor));
        var trees = new List<object>();
        foreach (var root in roots.OrderBy(r => r.Serial))
        {
            trees.Add(await TreeAsync(root.Self, null, depth: 0));
        }

        var tables = await TablesAsync();
        HistoryPoint[] history;
        lock (_historyLock)
        {
            history = [.. _history];
        }

        return new
        {
            node = _node.Id,
            at = _node.TimeProvider.GetUtcNow(),
            processCount = _node.ProcessCount,
            trees,
            tables,
            reports = _reports.ToArray(),
            history,
        };
    }

    /// <summary>The processes matching <paramref name="filter"/> (in pid, name or behaviour), sorted, at most
    /// <paramref name="take"/>. Filtering and sorting read a few fields of each process; only the rows returned are
    /// described in full.</summary>
    public object Processes(string? filter, string? sort, bool descending, int take)
    {
        var started = _node.TimeProvider.GetTimestamp();
        IEnumerable<Process> matching = _node.LiveProcesses.Where(p => p.IsAlive);
        if (!string.IsNullOrWhiteSpace(filter))
        {
            matching = matching.Where(p => p.Self.ToString().Contains(filter, StringComparison.OrdinalIgnoreCase)
                || (p.RegisteredName?.Contains(filter, StringComparison.OrdinalIgnoreCase) ?? false)
                || (p.Behaviour?.Name.Contains(filter, StringComparison.OrdinalIgnoreCase) ?? false));
        }

        var matched = matching.ToList();
        IEnumerable<Process> ordered = sort switch
        {
            "mailbox" => matched.OrderBy(p => p.MessageQueueLength),
            "name" => matched.OrderBy(p => p.RegisteredName, StringComparer.Ordinal),
            "behaviour" => matched.OrderBy(p => p.Behaviour?.Name, StringComparer.Ordinal),
            "in" => matched.OrderBy(p => p.MessagesIn),
            _ => matched.OrderBy(p => p.Serial),
        };
        if (descending)
        {
            ordered = ordered.Reverse();
        }

        var owned = _node.Tables.All().Select(t => t.GetInfo()).OfType<TableInfo>().Where(t => !t.Owner.IsNone)
            .GroupBy(t => t.Owner).ToDictionary(g => g.Key, g => string.Join(", ", g.Select(t => t.Name ?? "(unnamed)")));
        var rows = ordered.Take(take).Select(p => p.GetInfo()).Select(i => new ProcessRow(
            i.Pid.ToString(), i.RegisteredName, i.Status.ToString(), i.MessageQueueLength, i.MessagesIn, i.MessagesOut,
            i.Links.Count, i.Monitors.Count, i.Behaviour?.Name, owned.GetValueOrDefault(i.Pid))).ToArray();
        return new
        {
            total = _node.ProcessCount,
            matched = matched.Count,
            elapsedMs = _node.TimeProvider.GetElapsedTime(started).TotalMilliseconds,
            rows,
        };
    }

    /// <summary>Kills the process printed as <paramref name="pid"/>; false when none is.</summary>
    public bool Kill(string pid)
    {
        var process = _node.LiveProcesses.FirstOrDefault(p => p.Self.ToString() == pid);
        if (process is null)
        {
            return false;
        }

        _node.Exit(process.Self, ExitReason.Kill);

        // The process list changed even when no supervisor reports it: watching pages get a new view now.
        Changed();
        return true;
    }

    private async Task<object> TreeAsync(Pid supervisor, string? id, int depth)
    {
        SupervisorStatus status;
        try
        {
            status = await Supervisor.GetStatusAsync(supervisor).WaitAsync(TimeSpan.FromSeconds(1), _node.TimeProvider);
        }
        catch (Exception e) when (e is CallFailedException or TimeoutException)
        {
            return new { pid = supervisor.ToString(), id, supervisor = true, gone = true, children = Array.Empty<object>() };
        }

        var children = new List<object>();
        foreach (var child in status.Children)
        {
            if (child.Type == ChildType.Supervisor && !child.Pid.IsNone && depth < 16)
            {
                children.Add(await TreeAsync(child.Pid, child.Id, depth + 1));
            }
            else
            {
                var info = child.Pid.IsNone ? null : _node.GetProcessInfo(child.Pid);
                children.Add(new
                {
                    pid = child.Pid.IsNone ? null : child.Pid.ToString(),
                    id = child.Id,
                    name = info?.RegisteredName,
                    behaviour = info?.Behaviour?.Name,
                    restarts = child.Restarts,
                    mailbox = info?.MessageQueueLength ?? 0,
                });
            }
        }

        var self = _node.GetProcessInfo(supervisor);
        return new
        {
            pid = supervisor.ToString(),
            id,
            name = self?.RegisteredName,
            supervisor = true,
            strategy = status.Strategy.ToString(),
            intensity = status.Intensity,
            periodSeconds = status.Period.TotalSeconds,
            recentRestarts = status.RecentRestarts,
            children,
        };
    }

    private async Task<List<object>> TablesAsync()
    {
        var managed = new Dictionary<string, ManagedTableStatus>(StringComparer.Ordinal);
        foreach (var manager in TableManager.Running(_node))
        {
            try
            {
                foreach (var status in await TableManager.GetStatusAsync(manager).WaitAsync(TimeSpan.FromSeconds(1), _node.TimeProvider))
                {
                    managed[status.Name] = status;
                }
            }
            catch (Exception e) when (e is CallFailedException or TimeoutException)
            {
                // The manager exited meanwhile; its tables show as they are.
            }
        }

        var tables = new List<object>();
        foreach (var table in _node.Tables.All())
        {
            if (table.GetInfo() is not { } info)
            {
                continue;
            }

            DurableTable.TryGetStatus(table, out var durable);
            var state = info.Name is { } name && managed.Remove(name, out var m) ? m : null;
            tables.Add(new
            {
                name = info.Name ?? table.ToString(),
                type = info.Type.ToString(),
                access = info.Access.ToString(),
                size = info.Size,
                memory = info.Memory,
                owner = info.Owner.IsNone ? null : info.Owner.ToString(),
                heir = info.Heir.IsNone ? null : info.Heir.ToString(),
                managed = Managed(state),
                durable = durable is null ? null : new
                {
                    fsync = durable.Fsync.ToString(),
                    journalBytes = durable.JournalBytesSinceSnapshot,
                    lastFsyncSeconds = durable.SinceLastFsync.TotalSeconds,
                    waitingForFsync = durable.LastSequence - durable.DurableSequence,
                    snapshotSequence = durable.SnapshotSequence,
                    lastSnapshotSeconds = durable.SinceLastSnapshot?.TotalSeconds,
                    groupCommit = info.Name is { } n && _groupCommit.TryGetValue(n, out var records) ? records : (long?)null,
                },
            });
        }

        // A managed table closed by a storage failure is not among the node's tables while it is reopened.
        tables.AddRange(managed.Values.Select(m => (object)new { name = m.Name, type = "", access = "", size = 0L, memory = 0L, owner = (string?)null, heir = (string?)null, managed = Managed(m), durable = (object?)null }));
        return tables;
    }

    private static object? Managed(ManagedTableStatus? status) => status is null ? null : new
    {
        state = status.State.ToString(),
        handOffs = status.HandOffs,
        failedHandOffs = status.FailedHandOffs,
        waitingSeconds = status.WaitingFor?.TotalSeconds,
        failure = status.Failure?.Message,
        reopens = status.Reopens,
    };

    private void OnReported(object? sender, NodeReport report)
    {
        object? entry = report switch
        {
            CrashReport crash => new { at = _node.TimeProvider.GetUtcNow(), kind = "crash", pid = crash.Pid.ToString(), name = crash.RegisteredName, text = crash.Exception.GetType().Name + ": " + crash.Exception.Message },
            SupervisorReport s => new { at = _node.TimeProvider.GetUtcNow(), kind = s.Event.ToString(), pid = s.Pid.ToString(), name = s.ChildId, text = $"child {s.ChildId ?? "(dynamic)"} {s.Child}: {s.Reason}" },
            StorageFailureReport f => new { at = _node.TimeProvider.GetUtcNow(), kind = f.TableClosed ? "storage failure" : "snapshot failure", pid = f.Pid.ToString(), name = f.TableName, text = f.Exception.Message },
            HandOffRefusedReport h => new { at = _node.TimeProvider.GetUtcNow(), kind = "hand-off refused", pid = h.Pid.ToString(), name = (string?)h.TableName, text = h.Exception.Message },
            _ => null,
        };
        if (report is CrashReport)
        {
            Interlocked.Increment(ref _crashes);
        }
        else if (report is SupervisorReport { Event: SupervisorEvent.ChildRestarted })
        {
            Interlocked.Increment(ref _restarts);
        }

        if (entry is not null)
        {
            _reports.Enqueue(entry);
            while (_reports.Count > CrashLogLength && _reports.TryDequeue(out _))
            {
            }

            Changed();
        }
    }

    private void Changed() => Interlocked.Exchange(ref _change, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private void OnFsync(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (IsThisNode(tags, out _))
        {
            lock (_historyLock)
            {
                _fsyncs++;
                _fsyncSeconds += seconds;
            }
        }
    }

    /// <summary>Records made durable by one fsync: the last per table, and the total for the chart's mean.</summary>
    private void OnGroupCommit(Instrument instrument, long records, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (IsThisNode(tags, out var table))
        {
            Interlocked.Add(ref _groupCommitRecords, records);
            if (table is not null)
            {
                _groupCommit[table] = records;
            }
        }
    }

    private bool IsThisNode(ReadOnlySpan<KeyValuePair<string, object?>> tags, out string? table)
    {
        var ours = false;
        table = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "heirloom.node")
            {
                ours = tag.Value is int node && node == _node.Id;
            }
            else if (tag.Key == "heirloom.table")
            {
                table = tag.Value as string;
            }
        }

        return ours;
    }

    /// <summary>Messages taken by all processes and records journaled by all durable tables since the last sample;
    /// nothing (and nothing kept) while no page watches.</summary>
    private (long? Messages, long? Writes) Rates()
    {
        if (Volatile.Read(ref _watchers) == 0)
        {
            (_lastReceived, _lastWritten) = (null, null);
            return (null, null);
        }

        long messages = 0;
        var received = new Dictionary<Process, long>();
        foreach (var process in _node.LiveProcesses)
        {
            var taken = process.MessagesIn;
            received[process] = taken;
            messages += taken - (_lastReceived?.GetValueOrDefault(process) ?? 0);
        }

        long writes = 0;
        var written = new Dictionary<Table, long>();
        foreach (var table in _node.Tables.All())
        {
            if (DurableTable.TryGetStatus(table, out var status))
            {
                written[table] = status.LastSequence;
                writes += _lastWritten?.TryGetValue(table, out var before) == true ? status.LastSequence - before : 0;
            }
        }

        var first = _lastReceived is null;
        (_lastReceived, _lastWritten) = (received, written);
        return first ? (null, null) : (messages, writes);
    }

    private sealed class Watcher(NodeObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref observer._watchers);
            }
        }
    }

    private void Sample()
    {
        var restarts = Interlocked.Exchange(ref _restarts, 0);
        var crashes = Interlocked.Exchange(ref _crashes, 0);
        var groupCommitRecords = Interlocked.Exchange(ref _groupCommitRecords, 0);
        var (messages, writes) = Rates();
        lock (_historyLock)
        {
            var fsyncMs = _fsyncs == 0 ? 0 : _fsyncSeconds / _fsyncs * 1000;
            var groupCommit = _fsyncs == 0 ? 0 : (double)groupCommitRecords / _fsyncs;
            _history.Enqueue(new HistoryPoint(_node.TimeProvider.GetUtcNow(), restarts, crashes, _node.ProcessCount, fsyncMs, groupCommit, messages, writes));
            (_fsyncs, _fsyncSeconds) = (0, 0);
            while (_history.Count > HistorySeconds)
            {
                _history.Dequeue();
            }
        }
    }

    private sealed record HistoryPoint(DateTimeOffset At, long Restarts, long Crashes, int Processes, double FsyncMs, double GroupCommit, long? Messages, long? Writes);

    private sealed record ProcessRow(string Pid, string? Name, string Status, int Mailbox, long MessagesIn, long MessagesOut, int Links, int Monitors, string? Behaviour, string? Tables);
}
