using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;

namespace Heirloom.Postgres;

/// <summary>
/// Clustered tables: a table owned by one node of a cluster at a time, every acknowledged write committed in
/// PostgreSQL under the owner's epoch, and taken over by another node when its owner dies or goes silent. Each node
/// runs the table's server (<see cref="ChildSpec{TKey, TValue}"/>) beside a <c>TableManager</c> and the worker: on
/// the owner, the server gives the table to the manager, which hands it to the worker with the same
/// <c>TableTransfer</c> a local heir gets; on the others, it keeps a warm standby and waits for the table's lock.
/// </summary>
public static class ClusteredTable
{
    /// <summary>A child spec that starts the table's server on this node (a permanent worker); put it after the
    /// <c>TableManager</c> it names, in a rest-for-one or one-for-one tree.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="cluster">This node's membership.</param>
    /// <param name="options">The table.</param>
    /// <param name="keyCodec">How keys are stored; default the built-in codec. Every node must use the same.</param>
    /// <param name="valueCodec">How values are stored; default the built-in codec. Every node must use the same.</param>
    /// <param name="id">The child's id; default "clustered_table:" and the table's name.</param>
    public static ChildSpec ChildSpec<TKey, TValue>(PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null, string? id = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        return new ChildSpec(id ?? $"clustered_table:{options.Name}", (supervisor, _) => StartLinkAsync(supervisor, cluster, options, keyCodec, valueCodec));
    }

    /// <summary>Starts the table's server linked to the calling process. It loads the table (a standby) before it
    /// returns, then waits for the table's lock in the background.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="parent">The calling process (a supervisor).</param>
    /// <param name="cluster">This node's membership.</param>
    /// <param name="options">The table.</param>
    /// <param name="keyCodec">How keys are stored; default the built-in codec.</param>
    /// <param name="valueCodec">How values are stored; default the built-in codec.</param>
    /// <exception cref="GenServerStartException">PostgreSQL could not be reached, or the table is stored with another
    /// type or other codecs (the inner exception says which).</exception>
    public static Task<Pid> StartLinkAsync<TKey, TValue>(ProcessContext parent, PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartLinkAsync(parent, Factory(cluster, options, keyCodec, valueCodec));
    }

    /// <summary>Starts the table's server with no parent.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="cluster">This node's membership.</param>
    /// <param name="options">The table.</param>
    /// <param name="keyCodec">How keys are stored; default the built-in codec.</param>
    /// <param name="valueCodec">How values are stored; default the built-in codec.</param>
    /// <exception cref="GenServerStartException">PostgreSQL could not be reached, or the table is stored with another
    /// type or other codecs.</exception>
    public static Task<Pid> StartAsync<TKey, TValue>(PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartAsync(cluster.Node, Factory(cluster, options, keyCodec, valueCodec));
    }

    /// <summary>Where this node stands with the table.</summary>
    /// <param name="server">The table's server.</param>
    public static async Task<ClusteredTableStatus> GetStatusAsync(Pid server) =>
        (ClusteredTableStatus)(await GenServer.CallAsync(server, ClusteredTableStatusRequest.Instance))!;

    private static Func<GenServer> Factory<TKey, TValue>(PostgresCluster cluster, ClusteredTableOptions options, ICodec<TKey>? keyCodec, ICodec<TValue>? valueCodec)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        ArgumentException.ThrowIfNullOrEmpty(options.ManagerName);
        ArgumentException.ThrowIfNullOrEmpty(options.WorkerName);
        var keys = keyCodec ?? Codecs.For<TKey>();
        var values = valueCodec ?? Codecs.For<TValue>();
        return () => new ClusteredTableServer<TKey, TValue>(cluster, options, keys, values);
    }
}
