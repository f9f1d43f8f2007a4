using System.Diagnostics.Metrics;
using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Hosting;

/// <summary>
/// The node's metrics, on a <see cref="Meter"/> named <see cref="MeterName"/> created through <c>IMeterFactory</c>:
/// <c>heirloom.process.count</c> and <c>heirloom.table.count</c> (observed), <c>heirloom.process.crashes</c>,
/// <c>heirloom.supervisor.restarts</c> and <c>heirloom.table.storage_failures</c> (counted from the node's reports).
/// Collect them with OpenTelemetry (<c>AddMeter(HeirloomMetrics.MeterName)</c>) or a <see cref="MeterListener"/>.
/// </summary>
public sealed class HeirloomMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Heirloom";

    private readonly Counter<long> _crashes;
    private readonly Counter<long> _restarts;
    private readonly Counter<long> _storageFailures;
    private Node? _node;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    /// <param name="meterFactory">The host's meter factory.</param>
    public HeirloomMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("heirloom.process.count", () => _node?.ProcessCount ?? 0, "{process}", "Processes alive on the node.");
        meter.CreateObservableGauge("heirloom.table.count", () => _node?.Tables.All().Count ?? 0, "{table}", "Tables on the node.");
        _crashes = meter.CreateCounter<long>("heirloom.process.crashes", "{crash}", "Processes that crashed (ended by an unhandled exception).");
        _restarts = meter.CreateCounter<long>("heirloom.supervisor.restarts", "{restart}", "Children restarted by supervisors.");
        _storageFailures = meter.CreateCounter<long>("heirloom.table.storage_failures", "{failure}", "Durable tables closed because their journal failed.");
    }

    internal void Attach(Node node)
    {
        _node = node;
        node.Reported += OnReported;
    }

    internal void Detach(Node node) => node.Reported -= OnReported;

    private void OnReported(object? sender, NodeReport report)
    {
        switch (report)
        {
            case CrashReport:
                _crashes.Add(1);
                break;
            case SupervisorReport { Event: SupervisorEvent.ChildRestarted }:
                _restarts.Add(1);
                break;
            case StorageFailureReport { TableClosed: true }:
                _storageFailures.Add(1);
                break;
        }
    }
}
