using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Hosting;

/// <summary>
/// How logs name a process: by its registered name, else by the root tree it is (in the order the trees were
/// declared), else by what it runs (<c>TableManager</c>, <c>Supervisor</c>, a GenServer's type), always followed by
/// its pid; so a log never calls a manager "unnamed" or a root supervisor only "&lt;0.1.0&gt;".
/// </summary>
internal sealed class ProcessLabels
{
    private readonly ConcurrentDictionary<Pid, string> _roots = new();

    // The label of the root tree being started, if any: trees start one at a time, and what their supervisor reports
    // while it starts its children comes before its pid is known here.
    private volatile string? _starting;

    /// <summary>How a root supervision tree is called: its <c>SupervisorOptions.Name</c>, or its place among the
    /// trees.</summary>
    public static string RootLabel(string? name, int index) =>
        name is null ? $"root supervision tree {index + 1}" : $"root supervision tree '{name}'";

    /// <summary>Says which root tree is starting now, until <see cref="AddRoot"/>; null when none is.</summary>
    public void Starting(string? label) => _starting = label;

    /// <summary>Names a started root supervision tree.</summary>
    public void AddRoot(Pid root, string label)
    {
        _roots[root] = label;
        _starting = null;
    }

    /// <summary>The label of a live (or just exited) process; <paramref name="registeredName"/> and
    /// <paramref name="behaviour"/> are what a report knows of it when it can no longer be looked up.</summary>
    public string Describe(Node node, Pid pid, string? registeredName = null, Type? behaviour = null)
    {
        if (pid.IsNone)
        {
            return "none";
        }

        var info = registeredName is null ? node.GetProcessInfo(pid) : null;
        registeredName ??= info?.RegisteredName;
        if (registeredName is not null)
        {
            return $"'{registeredName}' {pid}";
        }

        if (_roots.TryGetValue(pid, out var root))
        {
            return $"{root} {pid}";
        }

        if (_starting is { } starting && info is { Parent.IsNone: true } && info.Behaviour == typeof(Supervisor))
        {
            return $"{starting} {pid}";
        }

        behaviour ??= info?.Behaviour;
        return behaviour is null ? $"process {pid}" : $"{BehaviourName(behaviour)} {pid}";
    }

    /// <summary>A type's name as C# writes it, without the generic arity suffix.</summary>
    private static string BehaviourName(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }
}
