namespace Heirloom.Postgres.Tests;

/// <summary>The balancing arithmetic every node runs: shares in proportion to weights adding up to the tables, moves
/// only from an over-share node to under-share ones, and the same answer on every node.</summary>
public sealed class FairShareTests
{
    private static readonly FairShare.Member[] Three = [new("a", 1), new("b", 1), new("c", 1)];

    private static bool Any(string node, string table) => true;

    [Fact]
    public void Shares_are_the_floor_or_ceiling_of_the_weighted_share_and_add_up_to_the_tables()
    {
        var quotas = FairShare.Quotas(1000, Three);
        Assert.Equal(1000, quotas.Values.Sum());
        Assert.All(quotas.Values, q => Assert.InRange(q, 333, 334));
        Assert.Equal(334, quotas["a"]);      // the remainder goes by node id when the fractions tie

        var weighted = FairShare.Quotas(1000, [new("a", 2), new("b", 1), new("c", 1)]);
        Assert.Equal([500, 250, 250], [weighted["a"], weighted["b"], weighted["c"]]);
    }

    [Fact]
    public void A_node_at_its_share_moves_nothing_and_an_over_share_node_moves_only_what_the_others_lack()
    {
        var tables = Enumerable.Range(0, 1000).Select(i => $"t{i:000}").ToList();
        var held = new Dictionary<string, int> { ["a"] = 334, ["b"] = 333, ["c"] = 333 };
        Assert.Empty(FairShare.Plan("a", tables[..334], 1000, Three, held, 100, Any));

        held = new Dictionary<string, int> { ["a"] = 500, ["b"] = 500, ["c"] = 0 };
        var plan = FairShare.Plan("a", tables[..500], 1000, Three, held, 1000, Any);
        Assert.Equal(166, plan.Count);                       // down to its share, 334
        Assert.All(plan, p => Assert.Equal("c", p.Successor)); // b owns more than its share: it receives none
        Assert.Equal(25, FairShare.Plan("a", tables[..500], 1000, Three, held, 25, Any).Count);
        Assert.Equal(plan, FairShare.Plan("a", [.. Enumerable.Reverse(tables[..500])], 1000, Three, held, 1000, Any));   // deterministic
    }

    [Fact]
    public void A_node_at_the_ceiling_of_its_share_keeps_its_tables_while_none_is_below_the_floor()
    {
        Assert.Empty(FairShare.Plan("c", ["t0"], 1, Three, new Dictionary<string, int> { ["c"] = 1 }, 10, Any));
        var tables = Enumerable.Range(0, 200).Select(i => $"t{i:000}").ToList();
        Assert.Empty(FairShare.Plan("c", tables[..67], 200, Three, new Dictionary<string, int> { ["a"] = 67, ["b"] = 66, ["c"] = 67 }, 10, Any));
        Assert.Equal(2, FairShare.Plan("c", tables[..68], 200, Three, new Dictionary<string, int> { ["a"] = 67, ["b"] = 65, ["c"] = 68 }, 10, Any).Count);   // b is below the floor: c goes down to its share, 66
    }

    [Fact]
    public void A_table_goes_only_to_a_node_following_it()
    {
        var tables = Enumerable.Range(0, 300).Select(i => $"t{i:000}").ToList();
        var held = new Dictionary<string, int> { ["a"] = 300, ["b"] = 0, ["c"] = 0 };
        var plan = FairShare.Plan("a", tables, 300, Three, held, 1000, (node, table) => node == "b" || string.CompareOrdinal(table, "t050") < 0);
        Assert.Equal(100, plan.Count(p => p.Successor == "b"));
        Assert.InRange(plan.Count(p => p.Successor == "c"), 1, 50);     // c follows only t000..t049
        Assert.All(plan.Where(p => p.Successor == "c"), p => Assert.True(string.CompareOrdinal(p.Table, "t050") < 0));
    }

    [Fact]
    public void A_stopping_nodes_tables_spread_over_the_receivers_by_score()
    {
        var tables = Enumerable.Range(0, 600).Select(i => $"t{i:000}").ToList();
        var held = new Dictionary<string, int> { ["a"] = 600, ["b"] = 0, ["c"] = 0 };
        var plan = FairShare.Plan("a", tables, 600, Three, held, 1000, Any);
        Assert.Equal(400, plan.Count);
        Assert.Equal(200, plan.Count(p => p.Successor == "b"));
        Assert.Equal(200, plan.Count(p => p.Successor == "c"));
    }
}
