namespace Heirloom.Postgres;

/// <summary>Where a node stands with a clustered table.</summary>
/// <param name="Name">The table's name.</param>
/// <param name="NodeId">This node.</param>
/// <param name="Role">Standby, taking over, or owner.</param>
/// <param name="Epoch">The epoch this node owns it at; 0 when it does not.</param>
/// <param name="Applied">The standby's last applied sequence (what it would start from).</param>
/// <param name="Takeovers">How many times this node took the table.</param>
/// <param name="Fencings">How many times this node lost it.</param>
/// <param name="LastTakeover">From getting the lock to the table being handed to the manager, at the last takeover.</param>
/// <param name="LastFencing">Why this node last lost the table, if it did.</param>
/// <param name="Commits">The commits this node made to PostgreSQL since it last took the table; 0 when it does not own it.</param>
/// <param name="CommittedWrites">The writes those commits carried: divided by <paramref name="Commits"/>, how many
/// writes shared each commit (group commit).</param>
public sealed record ClusteredTableStatus(string Name, string NodeId, ClusteredTableRole Role, long Epoch, long Applied, int Takeovers, int Fencings, TimeSpan? LastTakeover, FencedException? LastFencing, long Commits, long CommittedWrites)
{
    /// <summary>Why this node last refused to take the table while it waited for it (it cannot read the table's rows:
    /// a newer release upgraded them), until it takes it; null otherwise.</summary>
    public Exception? Refusal { get; init; }

    /// <summary>How many times this node handed the table off in a planned move (balancing, or stopping); a hand-off is
    /// not a fencing.</summary>
    public int HandOffs { get; init; }
}
