namespace Heirloom.Tests.Simulations;

/// <summary>What the tree acknowledged to its clients: each record's key and value, as acknowledged. Lives outside the
/// node (on the simulation's thread), as a client's memory of its acknowledgements would.</summary>
internal sealed class Ledger
{
    private readonly Dictionary<long, string> _acknowledged = [];

    public IReadOnlyDictionary<long, string> Acknowledged => _acknowledged;

    public long Last { get; private set; }

    public void Acknowledge(long key, string value)
    {
        _acknowledged[key] = value;
        Last = Math.Max(Last, key);
    }
}
