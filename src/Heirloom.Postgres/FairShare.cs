namespace Heirloom.Postgres;

/// <summary>
/// The arithmetic of balancing, the same on every node so that they agree without talking: each live node's share of
/// the tables (in proportion to its weight, the floor or the ceiling of it, the remainder going by largest fraction and
/// then by node id), and which tables an over-share node hands to which under-share node (rendezvous hashing: the
/// tables that score lowest for the giver go, each to the receiver that scores highest for it).
/// </summary>
internal static class FairShare
{
    /// <summary>Each member's share of <paramref name="tables"/>: whole numbers adding up to it.</summary>
    public static Dictionary<string, int> Quotas(int tables, IReadOnlyList<Member> members)
    {
        var total = members.Sum(m => m.Weight);
        var exact = members.Select(m => (m.Node, Share: tables * m.Weight / total)).ToList();
        var quotas = exact.ToDictionary(e => e.Node, e => (int)Math.Floor(e.Share), StringComparer.Ordinal);
        var left = tables - quotas.Values.Sum();
        foreach (var (node, _) in exact.OrderByDescending(e => e.Share - Math.Floor(e.Share)).ThenBy(e => e.Node, StringComparer.Ordinal).Take(left))
        {
            quotas[node]++;
        }

        return quotas;
    }

    /// <summary>
    /// The moves <paramref name="self"/> makes this round: none unless it owns more than its share while another member
    /// owns less than its own, and it owns more than the ceiling of its exact share or another owns less than the floor
    /// of its own (so a node at its share, or at the ceiling while none is below the floor, never moves a table: no
    /// thrash), and at most
    /// <paramref name="maxMoves"/>, the excess, and what the others lack.
    /// </summary>
    /// <param name="self">This node.</param>
    /// <param name="owned">The tables this node owns and may move.</param>
    /// <param name="tables">How many tables the cluster balances.</param>
    /// <param name="members">The live members, this node among them.</param>
    /// <param name="held">How many tables each member owns.</param>
    /// <param name="maxMoves">The most moves this round.</param>
    /// <param name="canReceive">Whether a node may receive a table: it is following it as a standby, so it takes it at
    /// once. A table no under-share node can receive stays.</param>
    public static List<(string Table, string Successor)> Plan(string self, IReadOnlyCollection<string> owned, int tables, IReadOnlyList<Member> members, IReadOnlyDictionary<string, int> held, int maxMoves, Func<string, string, bool> canReceive)
    {
        var quotas = Quotas(tables, members);
        if (!quotas.TryGetValue(self, out var quota) || owned.Count <= quota)
        {
            return [];
        }

        // Hysteresis: a node at the ceiling of its exact share moves nothing unless another is below the floor of its
        // own (so one table among three nodes stays where it is, and 67/67/66 of 200 is settled whoever has which).
        var total = members.Sum(m => m.Weight);
        double Exact(Member m) => tables * m.Weight / total;
        var belowFloor = members.Any(m => m.Node != self && held.GetValueOrDefault(m.Node) < Math.Floor(Exact(m)));
        if (owned.Count <= Math.Ceiling(Exact(members.First(m => m.Node == self))) && !belowFloor)
        {
            return [];
        }

        var needs = members.Where(m => m.Node != self)
            .Select(m => (m.Node, Need: quotas[m.Node] - held.GetValueOrDefault(m.Node)))
            .Where(n => n.Need > 0)
            .ToDictionary(n => n.Node, n => n.Need, StringComparer.Ordinal);
        var moves = Math.Min(Math.Min(owned.Count - quota, needs.Values.Sum()), maxMoves);
        var plan = new List<(string, string)>(Math.Max(moves, 0));
        foreach (var table in owned.OrderBy(t => Score(t, self)).ThenBy(t => t, StringComparer.Ordinal))
        {
            if (plan.Count >= moves)
            {
                break;
            }

            var receivers = needs.Where(n => n.Value > 0 && canReceive(n.Key, table)).ToList();
            if (receivers.Count == 0)
            {
                continue;
            }

            var successor = receivers.MaxBy(n => Score(table, n.Key)).Key;
            needs[successor]--;
            plan.Add((table, successor));
        }

        return plan;
    }

    /// <summary>The rendezvous score of a table on a node: a stable 64-bit hash of both names (FNV-1a, then a
    /// finalizer that spreads the bits), the same in every process and release.</summary>
    public static ulong Score(string table, string node)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in table)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash = (hash ^ '/') * 1099511628211UL;
        foreach (var c in node)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53UL;
        return hash ^ (hash >> 33);
    }

    /// <summary>A live member: its id and weight.</summary>
    internal readonly record struct Member(string Node, double Weight);
}
