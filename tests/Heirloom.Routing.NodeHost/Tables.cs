namespace Heirloom.Routing.NodeHost;

/// <summary>The clustered tables a node host serves, and which one each key is written to.</summary>
public static class Tables
{
    /// <summary>The name of table <paramref name="index"/>: "ledger", then "ledger1", "ledger2", ...</summary>
    public static string Name(int index) => index == 0 ? "ledger" : $"ledger{index}";

    /// <summary>The table key <paramref name="key"/> is written to, of <paramref name="count"/>.</summary>
    public static int Of(long key, int count) => (int)(key % count);
}
