using Heirloom.Processes;

namespace Heirloom.Tables.Management;

/// <summary>
/// One table a <see cref="TableManager"/> keeps alive (the seed's options): its name, how it is created, how the
/// manager finds the process to hand it to, and the gift that goes with it. Create it with <see cref="For{TKey, TValue}"/>.
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

    /// <summary>Type and access. The name and heir are the manager's to set.</summary>
    public TableOptions Options { get; init; } = new();

    /// <summary>The registered name of the process to hand the table to (the seed's <c>whereis(Name)</c>). The hand-off
    /// happens as soon as the name is registered, with no polling.</summary>
    public string? FindMeName { get; init; }

    /// <summary>Finds the process to hand the table to (the seed's find-me function), when <see cref="FindMeName"/> is
    /// not enough. Returning null or a dead pid, or throwing, all mean "not yet": the manager tries again with backoff.</summary>
    public Func<Node, Pid?>? FindMe { get; init; }

    /// <summary>Sent with every <see cref="TableTransfer"/> to the worker (the seed's gift data).</summary>
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
}
