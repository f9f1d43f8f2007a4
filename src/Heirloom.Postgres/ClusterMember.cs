namespace Heirloom.Postgres;

/// <summary>A node of the cluster, as PostgreSQL records it.</summary>
/// <param name="NodeId">The node's identity.</param>
/// <param name="Host">The machine it runs on.</param>
/// <param name="ProcessId">Its OS process.</param>
/// <param name="StartedAt">When it joined.</param>
/// <param name="LastSeen">When it last said it was alive (every second while it runs).</param>
public sealed record ClusterMember(string NodeId, string Host, int ProcessId, DateTimeOffset StartedAt, DateTimeOffset LastSeen)
{
    /// <summary>The clustered tables the node owned at its last heartbeat (it holds their locks at their current
    /// epochs), by name: a table it lost (fenced) is not among them.</summary>
    public IReadOnlyList<string> Serving { get; init; } = [];

    /// <summary>Where other nodes reach this node for calls routed to the tables it owns (a router's listening
    /// address, <see cref="PostgresCluster.AdvertiseAsync"/>), or null when it advertises none.</summary>
    public string? Address { get; init; }
}
