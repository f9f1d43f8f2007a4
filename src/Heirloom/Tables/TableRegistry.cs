using System.Collections.Concurrent;
using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>A node's tables, and its named tables by name (ETS's <c>named_table</c> and <c>ets:whereis/1</c>); reached
/// as <c>node.Tables</c>.</summary>
public sealed class TableRegistry : INodeService
{
    // The table instruments exist as soon as the node has tables.
    private static readonly Func<Node, TableRegistry> s_create = static node =>
    {
        TableMetrics.Of(node);
        return new TableRegistry();
    };

    private readonly ConcurrentDictionary<string, Table> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Table, byte> _all = new();

    internal TableRegistry()
    {
    }

    /// <summary>The named table, or null when no table has the name.</summary>
    /// <typeparam name="TKey">The table's key type.</typeparam>
    /// <typeparam name="TValue">The table's value type.</typeparam>
    /// <param name="name">The name.</param>
    /// <exception cref="TableException">The table exists with other key or value types (TableType).</exception>
    public Table<TKey, TValue>? WhereIs<TKey, TValue>(string name)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_byName.TryGetValue(name, out var table))
        {
            return null;
        }

        return table as Table<TKey, TValue> ?? throw new TableException(TableError.TableType, $"Table '{name}' holds {table.KeyType.Name} keys and {table.ValueType.Name} values, not {typeof(TKey).Name} and {typeof(TValue).Name}.");
    }

    /// <summary>The named table, whatever its types, or null.</summary>
    /// <param name="name">The name.</param>
    public Table? WhereIs(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return _byName.GetValueOrDefault(name);
    }

    /// <summary>Every live table of the node, named or not (<c>ets:all/0</c>).</summary>
    public IReadOnlyList<Table> All() => _all.Keys.ToArray();

    /// <summary>The node's registry, created with its first table.</summary>
    internal static TableRegistry Of(Node node) => node.GetService(s_create);

    /// <summary>A stopped node's tables are deleted: those it kept or owned once every process had exited.</summary>
    void INodeService.OnNodeStopped()
    {
        foreach (var table in All())
        {
            table.ForceDelete();
        }
    }

    internal bool TryAddName(string name, Table table) => _byName.TryAdd(name, table);

    internal void RemoveName(string name, Table table) => _byName.TryRemove(new KeyValuePair<string, Table>(name, table));

    internal void Add(Table table) => _all.TryAdd(table, 0);

    internal void Remove(Table table) => _all.TryRemove(table, out _);
}
