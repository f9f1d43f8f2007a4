using System.Diagnostics.Metrics;
using Heirloom.Diagnostics;

namespace Heirloom.Processes;

/// <summary>
/// A node's meter (see <see cref="HeirloomInstrumentation"/>) and the kernel's instruments on it: processes, mailboxes,
/// crashes. The layers above add theirs to <see cref="Meter"/> as node services, so the kernel counts nothing of theirs.
/// Recording on an instrument nobody listens to costs a branch.
/// </summary>
internal sealed class NodeMetrics : IDisposable
{
    private readonly bool _ownsMeter;
    private readonly Counter<long> _crashes;
    private volatile bool _stopped;

    public NodeMetrics(Node node, IMeterFactory? meterFactory)
    {
        NodeTag = new("heirloom.node", node.Id);

        // A factory's meter is shared by every node of the host and disposed with it; a meter of our own is disposed
        // with the node. Either way a stopped node's gauges observe nothing.
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(HeirloomInstrumentation.MeterName) ?? new Meter(HeirloomInstrumentation.MeterName);
        Meter.CreateObservableGauge("heirloom.process.count", () => Observe(() => node.ProcessCount), "{process}", "Processes alive on the node.");
        Meter.CreateObservableGauge("heirloom.mailbox.length", () => Observe(node.QueuedMessages), "{message}", "Messages waiting in the node's mailboxes, all processes together.");
        _crashes = Meter.CreateCounter<long>("heirloom.process.crashes", "{crash}", "Processes that crashed (ended by an unhandled exception).");
    }

    /// <summary>The meter every layer's instruments for this node are on.</summary>
    public Meter Meter { get; }

    /// <summary>The tag every measurement carries: the node's id.</summary>
    public KeyValuePair<string, object?> NodeTag { get; }

    /// <summary>Whether the node has stopped: observable instruments then observe nothing.</summary>
    public bool Stopped => _stopped;

    public void OnCrash() => _crashes.Add(1, NodeTag);

    /// <summary>One measurement tagged with the node, or none once it stopped.</summary>
    public IEnumerable<Measurement<T>> Observe<T>(Func<T> value)
        where T : struct => _stopped ? [] : [new Measurement<T>(value(), NodeTag)];

    public void Dispose()
    {
        _stopped = true;
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}
