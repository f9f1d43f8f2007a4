namespace Heirloom.Postgres;

/// <summary>
/// How a node joins a cluster of nodes sharing clustered tables through PostgreSQL, and how fast a dead or silent owner
/// is replaced. The defaults detect a killed owner's process at once (its connection closes and its lock goes with it)
/// and a silent machine within about three seconds (server keepalives), and make an owner that loses PostgreSQL stop
/// serving after two seconds, before the server could let another node take over.
/// </summary>
public sealed record PostgresClusterOptions
{
    /// <summary>The PostgreSQL connection string (Npgsql's format).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>This node's identity in the cluster; default the machine's name, the process id and a random suffix.</summary>
    public string NodeId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>The schema holding the cluster's tables: lower-case letters, digits and underscores. Default "heirloom".</summary>
    public string Schema { get; init; } = "heirloom";

    /// <summary>
    /// How long an owner may go without reaching PostgreSQL before it stops serving its tables (fails them as fenced).
    /// Must be shorter than the server's detection of a silent client (<see cref="KeepaliveIdle"/> plus
    /// <see cref="KeepaliveInterval"/> times <see cref="KeepaliveCount"/>, or <see cref="TcpUserTimeout"/>), so that
    /// the owner has stopped before another node can take over. Default 2 s.
    /// </summary>
    public TimeSpan OwnerDeadline { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an owner's lease lasts without renewal (it renews it at every check, one row for all the tables its lock
    /// session holds). A standby that finds the lease
    /// expired while the owner's session still holds the table's lock (the owner is frozen, or its machine went silent
    /// and the server has not noticed) ends that session (<c>pg_terminate_backend</c>, which needs the same role or
    /// <c>pg_signal_backend</c>) and takes the table. Longer than <see cref="OwnerDeadline"/>, so the owner has stopped
    /// serving first. Default 3 s.
    /// </summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often a node renews its lock session's lease, which stands for every table it owns (one row,
    /// whatever their number). Default 200 ms.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Idle time before the server probes an owner's lock connection (PostgreSQL's <c>tcp_keepalives_idle</c>,
    /// set for the session). Default 1 s.</summary>
    public TimeSpan KeepaliveIdle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Time between the server's probes (<c>tcp_keepalives_interval</c>). Default 1 s.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Unanswered probes before the server drops the connection (<c>tcp_keepalives_count</c>). Default 2.</summary>
    public int KeepaliveCount { get; init; } = 2;

    /// <summary>How long the server's unacknowledged data may wait before it drops the connection
    /// (<c>tcp_user_timeout</c>). Default 3 s.</summary>
    public TimeSpan TcpUserTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The most writes one commit carries; more wait for the next. Default 8,192.</summary>
    public int MaxWritesPerCommit { get; init; } = 8192;

    /// <summary>The most commits of one table in flight at once, each on its own pooled connection: above 1, a
    /// commit is sent while the one before it is still being made (its rows written while the other's commit record is
    /// flushed), and the commits become visible in the order of their writes. Default 1: PostgreSQL flushes the
    /// commits of notifying transactions one at a time, so where the flush dominates a commit (a local server) a second
    /// commit in flight only splits the writers between smaller commits; it can pay where round trips dominate (a
    /// distant server).</summary>
    public int MaxCommitsInFlight { get; init; } = 1;

    /// <summary>How often a standby reads the changes even without a notification (one may be lost with a
    /// connection). Default 1 s.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a node that waits for tables looks, in one statement that reads only the server's list of
    /// backends, for a backend that ended since the last look, and if one did, tries the locks of all the tables it waits
    /// for at once. A release is notified and tried at once; a killed owner's session ends without a word, so its tables
    /// are taken within about this. The locks are tried, and the sessions of owners whose lease expired ended, every
    /// third of <see cref="LeaseTimeout"/> in any case. Default 100 ms.</summary>
    public TimeSpan TakeoverPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The most pooled connections a node opens, for commits, standbys' reads and membership, whatever the
    /// number of its tables; it also holds one lock session and one listening connection. Default 2.</summary>
    public int MaxPoolSize { get; init; } = 2;

    /// <summary>This node's weight in balancing: each live node owns a share of the tables in proportion to its weight
    /// (the floor or ceiling of it). Default 1.</summary>
    public double Weight { get; init; } = 1;

    /// <summary>How often a node compares what it owns with its fair share of the tables and, if it owns more than its
    /// share while another node owns less, hands some off (a planned move); while members and counts stay the same, less
    /// and less often, down to every 8 intervals. Default 500 ms.</summary>
    public TimeSpan BalanceInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The most tables a node hands off per balancing round, so that a node joining takes its share over a few
    /// rounds rather than all at once; 0 turns balancing off (tables stay where they are until their owner goes).
    /// Default 50 (100 a second at the default interval).</summary>
    public int MaxMovesPerRound { get; init; } = 50;

    /// <summary>The most planned hand-offs (balancing moves, or a stopping node's tables) a node has under way at once.
    /// A table keeps taking writes until its own hand-off starts, so a few at a time keep each table's pause to what
    /// one hand-off costs (its last commits, the release, the successor's takeover), where hundreds at once would share
    /// the connections of both nodes and wait for each other. Default 4.</summary>
    public int MaxHandOffsInFlight { get; init; } = 4;

    /// <summary>How long a planned hand-off reserves the table for the node it was handed to: until then, no other node
    /// takes it; after, any node may (the chosen one did not come). Default 2 s.</summary>
    public TimeSpan HandOffTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> saying which is wrong.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("PostgresClusterOptions.ConnectionString is empty; give the PostgreSQL server's connection string.");
        }

        if (string.IsNullOrWhiteSpace(NodeId))
        {
            throw new ArgumentException("PostgresClusterOptions.NodeId is empty; leave it unset for a generated one.");
        }

        var detection = KeepaliveIdle + (KeepaliveInterval * KeepaliveCount);
        if (OwnerDeadline <= CheckInterval || OwnerDeadline >= detection || OwnerDeadline >= TcpUserTimeout || OwnerDeadline >= LeaseTimeout)
        {
            throw new ArgumentException(
                $"PostgresClusterOptions.OwnerDeadline ({OwnerDeadline.TotalMilliseconds} ms) must be longer than CheckInterval " +
                $"({CheckInterval.TotalMilliseconds} ms) and shorter than LeaseTimeout ({LeaseTimeout.TotalMilliseconds} ms) and the " +
                $"server's detection of a silent owner (keepalives: {detection.TotalMilliseconds} ms; TcpUserTimeout: " +
                $"{TcpUserTimeout.TotalMilliseconds} ms), or a silent owner could still serve after another node took over.");
        }

        if (KeepaliveIdle < TimeSpan.FromSeconds(1) || KeepaliveInterval < TimeSpan.FromSeconds(1) || KeepaliveCount < 1)
        {
            throw new ArgumentException("PostgreSQL counts keepalive times in whole seconds: KeepaliveIdle and KeepaliveInterval must be at least 1 s, KeepaliveCount at least 1.");
        }

        if (MaxWritesPerCommit < 1 || FollowInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("PostgresClusterOptions.MaxWritesPerCommit must be at least 1 and FollowInterval positive.");
        }

        if (TakeoverPollInterval <= TimeSpan.Zero || TakeoverPollInterval > LeaseTimeout)
        {
            throw new ArgumentException($"PostgresClusterOptions.TakeoverPollInterval ({TakeoverPollInterval.TotalMilliseconds} ms) must be positive and no longer than LeaseTimeout ({LeaseTimeout.TotalMilliseconds} ms).");
        }

        if (!double.IsFinite(Weight) || Weight <= 0)
        {
            throw new ArgumentException($"PostgresClusterOptions.Weight ({Weight}) must be a positive number: a node's share of the tables is in proportion to it.");
        }

        if (BalanceInterval <= TimeSpan.Zero || MaxMovesPerRound < 0 || HandOffTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"PostgresClusterOptions.BalanceInterval ({BalanceInterval.TotalMilliseconds} ms) and HandOffTimeout ({HandOffTimeout.TotalMilliseconds} ms) must be positive, and MaxMovesPerRound ({MaxMovesPerRound}) at least 0 (0 turns balancing off).");
        }

        if (MaxHandOffsInFlight < 1)
        {
            throw new ArgumentException($"PostgresClusterOptions.MaxHandOffsInFlight ({MaxHandOffsInFlight}) must be at least 1: planned hand-offs need one at a time at least.");
        }

        if (MaxCommitsInFlight < 1)
        {
            throw new ArgumentException($"PostgresClusterOptions.MaxCommitsInFlight ({MaxCommitsInFlight}) must be at least 1.");
        }

        if (MaxPoolSize < 1)
        {
            throw new ArgumentException($"PostgresClusterOptions.MaxPoolSize ({MaxPoolSize}) must be at least 1: commits and reads need a connection.");
        }
    }
}
