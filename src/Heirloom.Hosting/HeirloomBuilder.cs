using Heirloom.Behaviours;
using Heirloom.Processes;
using Heirloom.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Hosting;

/// <summary>Declares what the host's node runs: its root supervision trees, started in order when the host starts
/// and stopped in reverse order when it stops.</summary>
public sealed class HeirloomBuilder
{
    private readonly SupervisionTrees _trees;

    internal HeirloomBuilder(IServiceCollection services, SupervisionTrees trees)
    {
        Services = services;
        _trees = trees;
    }

    /// <summary>The service collection, for chaining other registrations.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds a root supervision tree whose options are built from the services (so its children can take
    /// loggers, options and other services from DI).</summary>
    /// <param name="options">Builds the tree's options when the host starts.</param>
    public HeirloomBuilder AddSupervisor(Func<IServiceProvider, SupervisorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _trees.Add(options);
        return this;
    }

    /// <summary>
    /// Makes the named table resolvable from DI as a keyed service: <c>[FromKeyedServices("counters")] Table&lt;string,
    /// long&gt; counters</c>. Each resolution looks the table up by name on the node, so it finds the table that is open
    /// now (a managed table reopened after a storage failure is a new table object). Processes need no registration:
    /// call them by name with <c>GenServer.CallAsync(node, name, request)</c>.
    /// </summary>
    /// <typeparam name="TKey">The table's key type.</typeparam>
    /// <typeparam name="TValue">The table's value type.</typeparam>
    /// <param name="name">The table's name.</param>
    public HeirloomBuilder AddTable<TKey, TValue>(string name)
        where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Services.AddKeyedTransient(name, (provider, _) => provider.GetRequiredService<Node>().Tables.WhereIs<TKey, TValue>(name)
            ?? throw new InvalidOperationException(
                $"No table named '{name}' with keys of {typeof(TKey).Name} and values of {typeof(TValue).Name} is open on the node now: " +
                "it is not created yet (a table manager opens its tables when the host starts), was deleted, or has other types."));
        return this;
    }

    /// <summary>Adds a root supervision tree.</summary>
    /// <param name="options">The tree's strategy, intensity and children.</param>
    public HeirloomBuilder AddSupervisor(SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AddSupervisor(_ => options);
    }
}
