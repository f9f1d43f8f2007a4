using System.Collections.Concurrent;
using Heirloom.Processes;

namespace Heirloom.Management;

/// <summary>The table managers running on a node, so health checks and dashboards can find every managed table.</summary>
internal sealed class TableManagerRegistry : INodeService
{
    private readonly ConcurrentDictionary<Pid, byte> _managers = new();

    public static TableManagerRegistry Of(Node node) => node.GetService(static _ => new TableManagerRegistry());

    public void Add(Pid manager) => _managers.TryAdd(manager, 0);

    /// <summary>The managers alive now, oldest first; the dead ones (however they ended) are dropped here.</summary>
    public IReadOnlyList<Pid> Alive()
    {
        foreach (var manager in _managers.Keys)
        {
            if (!manager.IsAlive)
            {
                _managers.TryRemove(manager, out _);
            }
        }

        return [.. _managers.Keys.Where(m => m.IsAlive).OrderBy(m => m.Resolve().Serial)];
    }

    public void OnNodeStopped() => _managers.Clear();
}
