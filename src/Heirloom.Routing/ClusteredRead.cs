namespace Heirloom.Routing;

/// <summary>What a routed read (<see cref="NodeRouter.LookupAsync{TKey, TValue}"/>) found, where, and how fresh.</summary>
/// <typeparam name="TValue">The table's value type.</typeparam>
public sealed class ClusteredRead<TValue>
{
    internal ClusteredRead(IReadOnlyList<TValue> values, ReadSource source, string nodeId, TimeSpan staleness)
    {
        Values = values;
        Source = source;
        NodeId = nodeId;
        Staleness = staleness;
    }

    /// <summary>The key's values, as <c>ets:lookup/2</c> returns them: none or one for a set, in insertion order for a
    /// bag.</summary>
    public IReadOnlyList<TValue> Values { get; }

    /// <summary>Whether the key was found (it has at least one value).</summary>
    public bool Found => Values.Count > 0;

    /// <summary>Where the read was served.</summary>
    public ReadSource Source { get; }

    /// <summary>The node that served it.</summary>
    public string NodeId { get; }

    /// <summary>How old the data may be, counted back from when the read began: every commit acknowledged at least this
    /// long before then is included. Zero when the owner served it (the owner's table holds every write it took).</summary>
    public TimeSpan Staleness { get; }
}
