namespace Heirloom.Tests.Simulations;

/// <summary>What the tree acknowledged to its clients: each record's key and value, as first acknowledged. Lives
/// outside the node (on the simulation's thread), as a client's memory of its acknowledgements would. A second
/// acknowledgement of a key with another value means the first acknowledged record was replaced: lost.</summary>
internal sealed class Ledger
{
    private readonly Dictionary<long, string> _acknowledged = [];

    public IReadOnlyDictionary<long, string> Acknowledged => _acknowledged;

    public long Last { get; private set; }

    /// <summary>The keys acknowledged twice with different values.</summary>
    public List<long> Replaced { get; } = [];

    public void Acknowledge(long key, string value)
    {
        if (!_acknowledged.TryAdd(key, value) && _acknowledged[key] != value)
        {
            Replaced.Add(key);
        }

        Last = Math.Max(Last, key);
    }
}
