using System.Diagnostics.Metrics;
using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>The tables layer's instruments on a node's meter: table count and sizes (observed) and transfers.</summary>
internal sealed class TableMetrics : INodeService
{
    private readonly NodeMetrics _metrics;
    private readonly Counter<long> _transfers;

    private TableMetrics(Node node)
    {
        _metrics = node.Metrics;
        var meter = _metrics.Meter;
        meter.CreateObservableGauge("heirloom.table.count", () => _metrics.Observe(() => node.Tables.All().Count), "{table}", "Tables on the node.");
        meter.CreateObservableGauge("heirloom.table.size", () => _metrics.Stopped ? [] : Sizes(node), "{object}", "Objects in each table.");
        _transfers = meter.CreateCounter<long>("heirloom.table.transfers", "{transfer}", "Tables given away or passed to their heir.");
    }

    public static TableMetrics Of(Node node) => node.GetService(static n => new TableMetrics(n));

    public void OnTransfer() => _transfers.Add(1, _metrics.NodeTag);

    public void OnNodeStopped()
    {
    }

    private IEnumerable<Measurement<long>> Sizes(Node node)
    {
        foreach (var table in node.Tables.All())
        {
            if (table.GetInfo() is { } info)
            {
                yield return new Measurement<long>(info.Size, _metrics.NodeTag, new("heirloom.table", info.Name ?? table.ToString()));
            }
        }
    }
}
