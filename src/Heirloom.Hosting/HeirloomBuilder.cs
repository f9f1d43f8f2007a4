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
    private readonly NodeServices _nodeServices;

    internal HeirloomBuilder(IServiceCollection services, SupervisionTrees trees, NodeServices nodeServices)
    {
        Services = services;
        _trees = trees;
        _nodeServices = nodeServices;
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

    /// <summary>
    /// Adds a service that lives with the node: started when the host starts, after the node and before every
    /// supervision tree (so a tree's factory, and the children it starts, can resolve it), and disposed when the host
    /// stops, after the trees have stopped and before the node is, within the same shutdown budget. Services start in
    /// declaration order and are disposed in reverse order. It is resolvable from DI as <typeparamref name="TService"/>
    /// while it runs; resolving it before the host has started throws <see cref="InvalidOperationException"/>. A
    /// service that fails to start fails the host's start with <see cref="HeirloomStartException"/>, after the services
    /// started before it are disposed. A PostgreSQL cluster is one (<c>AddPostgresCluster</c>).
    /// </summary>
    /// <typeparam name="TService">The service's type; a node holds one of each.</typeparam>
    /// <param name="start">Starts the service on the node; the token is the host's start token.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A node service of that type is declared already.</exception>
    public HeirloomBuilder AddNodeService<TService>(Func<IServiceProvider, Node, CancellationToken, Task<TService>> start)
        where TService : class, IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(start);
        _nodeServices.Add(typeof(TService), async (services, node, cancellation) => await start(services, node, cancellation).ConfigureAwait(false));
        Services.AddSingleton(_ => _nodeServices.Get<TService>());
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
