using System.Diagnostics.Metrics;
using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>The supervisors' instrument on a node's meter: restarts.</summary>
internal sealed class SupervisorMetrics : INodeService
{
    private readonly Counter<long> _restarts;
    private readonly KeyValuePair<string, object?> _node;

    private SupervisorMetrics(Node node)
    {
        _node = node.Metrics.NodeTag;
        _restarts = node.Metrics.Meter.CreateCounter<long>("heirloom.supervisor.restarts", "{restart}", "Children restarted by supervisors.");
    }

    public static SupervisorMetrics Of(Node node) => node.GetService(static n => new SupervisorMetrics(n));

    public void OnRestart() => _restarts.Add(1, _node);

    public void OnNodeStopped()
    {
    }
}
