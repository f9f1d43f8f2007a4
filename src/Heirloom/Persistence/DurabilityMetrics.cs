using System.Diagnostics.Metrics;
using Heirloom.Processes;

namespace Heirloom.Persistence;

/// <summary>The durable tables' instruments on a node's meter: storage failures, fsync durations, group-commit sizes.</summary>
internal sealed class DurabilityMetrics : INodeService
{
    private readonly KeyValuePair<string, object?> _node;
    private readonly Counter<long> _storageFailures;
    private readonly Histogram<double> _fsyncDuration;
    private readonly Histogram<long> _groupCommitSize;

    private DurabilityMetrics(Node node)
    {
        _node = node.Metrics.NodeTag;
        var meter = node.Metrics.Meter;
        _storageFailures = meter.CreateCounter<long>("heirloom.table.storage_failures", "{failure}", "Durable tables closed because their journal failed.");
        _fsyncDuration = meter.CreateHistogram<double>("heirloom.journal.fsync.duration", "s", "How long each journal fsync took.");
        _groupCommitSize = meter.CreateHistogram<long>("heirloom.journal.group_commit.size", "{record}", "Records made durable by one journal fsync.");
    }

    public static DurabilityMetrics Of(Node node) => node.GetService(static n => new DurabilityMetrics(n));

    public void OnStorageFailure() => _storageFailures.Add(1, _node);

    public void OnFsync(string? table, TimeSpan duration, long records)
    {
        var tableTag = new KeyValuePair<string, object?>("heirloom.table", table);
        _fsyncDuration.Record(duration.TotalSeconds, _node, tableTag);
        _groupCommitSize.Record(records, _node, tableTag);
    }

    public void OnNodeStopped()
    {
    }
}
