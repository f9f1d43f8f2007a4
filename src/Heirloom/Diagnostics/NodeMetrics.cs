using System.Diagnostics.Metrics;
using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Diagnostics;

/// <summary>A node's instruments (see <see cref="HeirloomInstrumentation"/>). Recording on an instrument nobody
/// listens to costs a branch, so the hot paths record unconditionally.</summary>
internal sealed class NodeMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private volatile bool _stopped;
    private readonly KeyValuePair<string, object?> _nodeTag;
    private readonly Counter<long> _crashes;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _transfers;
    private readonly Counter<long> _storageFailures;
    private readonly Histogram<double> _fsyncDuration;
    private readonly Histogram<long> _groupCommitSize;

    public NodeMetrics(Node node, IMeterFactory? meterFactory)
    {
        _nodeTag = new("heirloom.node", node.Id);
        // A factory's meter is shared by every node of the host and disposed with it; a meter of our own is disposed
        // with the node. Either way a stopped node's gauges observe nothing.
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(HeirloomInstrumentation.MeterName) ?? new Meter(HeirloomInstrumentation.MeterName);
        _meter.CreateObservableGauge("heirloom.process.count", () => Observe(() => node.ProcessCount), "{process}", "Processes alive on the node.");
        _meter.CreateObservableGauge("heirloom.mailbox.length", () => Observe(node.QueuedMessages), "{message}", "Messages waiting in the node's mailboxes, all processes together.");
        _meter.CreateObservableGauge("heirloom.table.count", () => Observe(() => node.Tables.All().Count), "{table}", "Tables on the node.");
        _meter.CreateObservableGauge("heirloom.table.size", () => _stopped ? [] : TableSizes(node), "{object}", "Objects in each table.");
        _crashes = _meter.CreateCounter<long>("heirloom.process.crashes", "{crash}", "Processes that crashed (ended by an unhandled exception).");
        _restarts = _meter.CreateCounter<long>("heirloom.supervisor.restarts", "{restart}", "Children restarted by supervisors.");
        _transfers = _meter.CreateCounter<long>("heirloom.table.transfers", "{transfer}", "Tables given away or passed to their heir.");
        _storageFailures = _meter.CreateCounter<long>("heirloom.table.storage_failures", "{failure}", "Durable tables closed because their journal failed.");
        _fsyncDuration = _meter.CreateHistogram<double>("heirloom.journal.fsync.duration", "s", "How long each journal fsync took.");
        _groupCommitSize = _meter.CreateHistogram<long>("heirloom.journal.group_commit.size", "{record}", "Records made durable by one journal fsync.");
    }

    public void OnReport(NodeReport report)
    {
        switch (report)
        {
            case CrashReport:
                _crashes.Add(1, _nodeTag);
                break;
            case SupervisorReport { Event: SupervisorEvent.ChildRestarted }:
                _restarts.Add(1, _nodeTag);
                break;
            case StorageFailureReport { TableClosed: true }:
                _storageFailures.Add(1, _nodeTag);
                break;
        }
    }

    public void OnTransfer() => _transfers.Add(1, _nodeTag);

    public void OnFsync(string? table, TimeSpan duration, long records)
    {
        var tableTag = new KeyValuePair<string, object?>("heirloom.table", table);
        _fsyncDuration.Record(duration.TotalSeconds, _nodeTag, tableTag);
        _groupCommitSize.Record(records, _nodeTag, tableTag);
    }

    public void Dispose()
    {
        _stopped = true;
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private IEnumerable<Measurement<T>> Observe<T>(Func<T> value)
        where T : struct => _stopped ? [] : [new Measurement<T>(value(), _nodeTag)];

    private IEnumerable<Measurement<long>> TableSizes(Node node)
    {
        foreach (var table in node.Tables.All())
        {
            if (table.GetInfo() is { } info)
            {
                yield return new Measurement<long>(info.Size, _nodeTag, new("heirloom.table", info.Name ?? table.ToString()));
            }
        }
    }
}
