using Heirloom.Persistence;
using Heirloom.Processes;

using Heirloom.Tables;

namespace Heirloom.Management;

/// <summary>
/// One table a <see cref="TableManager"/> keeps alive (kazoo_etsmgr_srv's options): its name, how it is created, how the
/// manager finds the process to hand it to, and the gift that goes with it. Create it with <see cref="For{TKey, TValue}"/>,
/// or <see cref="Durable{TKey, TValue}"/> for a table that also survives the node and the OS process.
/// </summary>
public sealed record ManagedTable
{
    private ManagedTable(string name, Func<Node, TableOptions, Table> create)
    {
        Name = name;
        Create = create;
    }

    /// <summary>The table's name; managed tables are always named, which is how a restarted manager finds them again.</summary>
    public string Name { get; }

    /// <summary>The directory a durable table lives in; null for a table kept in memory only.</summary>
    public DurabilityOptions? Durability { get; private init; }

    /// <summary>Type and access. The name and heir are the manager's to set.</summary>
    public TableOptions Options { get; init; } = new();

    /// <summary>The registered name of the process to hand the table to (kazoo_etsmgr_srv's <c>whereis(Name)</c>). The hand-off
    /// happens as soon as the name is registered, with no polling.</summary>
    public string? FindMeName { get; init; }

    /// <summary>Finds the process to hand the table to (kazoo_etsmgr_srv's find-me function), when <see cref="FindMeName"/> is
    /// not enough. Returning <see cref="Pid.None"/> or a dead pid, or throwing, all mean "not yet": the manager tries again with backoff.</summary>
    public Func<Node, Pid>? FindMe { get; init; }

    /// <summary>Sent with every <see cref="TableTransfer"/> to the worker (kazoo_etsmgr_srv's gift data).</summary>
    public object? Gift { get; init; }

    internal Func<Node, TableOptions, Table> Create { get; }

    /// <summary>A managed table of <typeparamref name="TKey"/> keys and <typeparamref name="TValue"/> values.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="name">The table's name.</param>
    public static ManagedTable For<TKey, TValue>(string name)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new ManagedTable(name, static (node, options) => Table.New<TKey, TValue>(node, options));
    }

    /// <summary>
    /// A managed durable table (see <see cref="DurableTable"/>). A manager that finds no table of this name on the node
    /// (the node is new: the OS process died and started again) opens it from its directory, with every acknowledged
    /// write, before handing it on. While the node lives, the table outlives the manager and the worker in memory, as
    /// any managed table does. Deleting it through the manager closes its files and keeps them.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="name">The table's name.</param>
    /// <param name="durability">Directory, fsync policy, snapshot threshold.</param>
    /// <param name="keyCodec">How keys are written; default the built-in codec.</param>
    /// <param name="valueCodec">How values are written; default the built-in codec.</param>
    public static ManagedTable Durable<TKey, TValue>(string name, DurabilityOptions durability, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(durability);
        return new ManagedTable(name, (node, options) => DurableTable.Open(node, options, durability, keyCodec, valueCodec)) { Durability = durability };
    }

    /// <summary>
    /// A managed table that <paramref name="open"/> creates, for tables kept by another component (a replicated table
    /// whose ownership is decided elsewhere, say). The manager calls it in its own process, so the table it returns
    /// must be created there (owned by the calling process), with the options it is given (the name, and the manager
    /// as heir). It is called when the manager finds no table of this name on the node, and again after the table
    /// failed; throwing <see cref="TableException"/> or <see cref="IOException"/> from the second means "not now", and
    /// the manager tries again with backoff.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="name">The table's name.</param>
    /// <param name="open">Creates the table.</param>
    public static ManagedTable Opened<TKey, TValue>(string name, Func<Node, TableOptions, Table<TKey, TValue>> open)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(open);
        return new ManagedTable(name, open);
    }
}
