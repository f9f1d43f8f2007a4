using Heirloom.Behaviours;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Management;

/// <summary>
/// KAZOO's ETS manager without its ways of losing data: a GenServer that creates (or, after a restart, adopts) named
/// tables, is their heir, hands each to the process its find-me names, gets it back when that process dies, and hands
/// it to the replacement. The worker receives a <see cref="TableTransfer"/> carrying the table and the gift: its
/// "ready" event, where it rebuilds any state derived from the table.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A hand-off checks the receiver is alive in the same step as it transfers; a failed one is retried, never fatal.</item>
/// <item>Discovery backs off exponentially with jitter, treating "not found", exceptions and dead pids alike; with a
/// registered-name find-me it reacts to the registration itself, without polling.</item>
/// <item>The manager monitors, never links: its crash cannot kill the worker. A managed table whose owner dies with
/// no live heir stays with the node instead of being deleted, and the restarted manager adopts it again. So the worker
/// and the manager may die in any order, together too, and the table survives with every acknowledged write.</item>
/// </list>
/// </remarks>
public static class TableManager
{
    /// <summary>Starts a manager linked to the calling process (a supervisor, typically).</summary>
    /// <param name="parent">The calling process.</param>
    /// <param name="options">The tables and discovery settings.</param>
    public static Task<Pid> StartLinkAsync(ProcessContext parent, TableManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartLinkAsync(parent, () => new TableManagerServer(options), new GenServerOptions { Name = options.Name });
    }

    /// <summary>Starts a manager with no parent.</summary>
    /// <param name="node">The node.</param>
    /// <param name="options">The tables and discovery settings.</param>
    public static Task<Pid> StartAsync(Node node, TableManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return GenServer.StartAsync(node, () => new TableManagerServer(options), new GenServerOptions { Name = options.Name });
    }

    /// <summary>A child spec that starts the manager as KAZOO's supervisors start kazoo_etsmgr_srv (a permanent worker).</summary>
    /// <param name="options">The tables and discovery settings.</param>
    /// <param name="id">The child's id; default "table_manager".</param>
    public static ChildSpec ChildSpec(TableManagerOptions options, string id = "table_manager")
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ChildSpec(id, (supervisor, _) => StartLinkAsync(supervisor, options));
    }

    /// <summary>The table managers alive on a node, oldest first.</summary>
    /// <param name="node">The node.</param>
    public static IReadOnlyList<Pid> Running(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return TableManagerRegistry.Of(node).Alive();
    }

    /// <summary>Where each managed table is: owner, heir, state, how long discovery has waited.</summary>
    /// <param name="manager">The manager.</param>
    public static async Task<IReadOnlyList<ManagedTableStatus>> GetStatusAsync(Pid manager) =>
        (IReadOnlyList<ManagedTableStatus>)(await GenServer.CallAsync(manager, TableManagerServer.Status.Instance))!;

    /// <summary>Starts managing another table.</summary>
    /// <param name="manager">The manager.</param>
    /// <param name="table">The table.</param>
    /// <exception cref="ArgumentException">The manager already manages a table of that name.</exception>
    public static async Task AddTableAsync(Pid manager, ManagedTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (await GenServer.CallAsync(manager, new TableManagerServer.Add(table)) is Exception error)
        {
            throw error;
        }
    }

    /// <summary>Deletes a managed table, whoever owns it, and stops managing it.</summary>
    /// <param name="manager">The manager.</param>
    /// <param name="name">The table's name.</param>
    /// <returns>Whether the manager managed such a table.</returns>
    public static async Task<bool> DeleteTableAsync(Pid manager, string name) =>
        (bool)(await GenServer.CallAsync(manager, new TableManagerServer.Delete(name)))!;

    /// <summary>Stops the manager. Its tables stay: with their workers, or with the node until a manager adopts them.</summary>
    /// <param name="manager">The manager.</param>
    public static Task StopAsync(Pid manager) => GenServer.StopAsync(manager);
}
