using Heirloom.Behaviours;
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

    /// <summary>Adds a root supervision tree.</summary>
    /// <param name="options">The tree's strategy, intensity and children.</param>
    public HeirloomBuilder AddSupervisor(SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AddSupervisor(_ => options);
    }
}
