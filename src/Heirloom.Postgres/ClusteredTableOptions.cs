using Heirloom.Tables;

namespace Heirloom.Postgres;

/// <summary>One clustered table as a node serves it: its name and type, the local table manager that hands it to the
/// worker, and how writes are acknowledged.</summary>
public sealed record ClusteredTableOptions
{
    /// <summary>The table's name, the same on every node: it names the table in PostgreSQL and on the node.</summary>
    public required string Name { get; init; }

    /// <summary>Set, ordered set, bag or duplicate bag; every node must agree. Default set.</summary>
    public TableType Type { get; init; } = TableType.Set;

    /// <summary>Who may read and write it on the owning node. Default protected: the worker writes, everyone reads.</summary>
    public TableAccess Access { get; init; } = TableAccess.Protected;

    /// <summary>The registered name of this node's <c>TableManager</c>, which hands the table to the worker, gets it back
    /// when the worker dies, and hands it to the replacement, as for any managed table.</summary>
    public required string ManagerName { get; init; }

    /// <summary>The registered name of the worker to hand the table to.</summary>
    public required string WorkerName { get; init; }

    /// <summary>Sent with every hand-off to the worker.</summary>
    public object? Gift { get; init; }

    /// <summary>
    /// Whether a write returns only once PostgreSQL has committed it (default). Turn it off to let the worker keep many
    /// writes in flight and answer each caller when its write is committed (<c>TableWorker.ReplyWhenDurable</c>, or
    /// <c>DurableTable.WhenDurableAsync</c>): concurrent writes then share commits.
    /// </summary>
    public bool WritesWaitForCommit { get; init; } = true;

    /// <summary>
    /// When set, a write is acknowledged once it is in this local journal (fsynced, with group commit) and is shipped to
    /// PostgreSQL in the background, instead of being acknowledged on PostgreSQL's commit. What can be lost: if this
    /// machine is lost, or another node takes the table before this one gets it back, the acknowledged writes not yet
    /// shipped, at most <see cref="MaxUnshippedWrites"/> (plus those of one commit in flight). If this node takes the
    /// table back at the next epoch (nobody owned it in between: its process restarted, or PostgreSQL did), it ships
    /// them first and nothing is lost. Null (the default): acknowledged on commit.
    /// </summary>
    public Persistence.DurabilityOptions? LocalJournal { get; init; }

    /// <summary>With <see cref="LocalJournal"/>, the most acknowledged writes that may wait to be shipped; further
    /// acknowledgements wait for shipping. Default 10,000.</summary>
    public int MaxUnshippedWrites { get; init; } = 10_000;
}
