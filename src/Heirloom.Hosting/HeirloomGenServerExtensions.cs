using Heirloom.Behaviours;
using Heirloom.Processes;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Hosting;

/// <summary>GenServers constructed through DI: their constructors may take an <c>ILogger&lt;T&gt;</c>, options or
/// any other service.</summary>
public static class HeirloomGenServerExtensions
{
    /// <summary>
    /// Adds a server of type <typeparamref name="TServer"/>, registered as <paramref name="name"/>, constructed
    /// through DI in its own process, in a root supervision tree of its own (restarted when it crashes, up to
    /// <paramref name="maxRestarts"/> in 5 seconds). Inject <see cref="GenServerClient{TServer}"/> to call it.
    /// </summary>
    /// <typeparam name="TServer">The server's type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The server's registered name.</param>
    /// <param name="maxRestarts">Restarts allowed within 5 seconds before its supervisor gives up. Default 5.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A server or managed table of that name is registered already.</exception>
    public static HeirloomBuilder AddGenServer<TServer>(this HeirloomBuilder builder, string name, int maxRestarts = 5)
        where TServer : GenServer
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRestarts);
        if (!HeirloomManagedTableExtensions.RegisteredNames(builder.Services).Add(name))
        {
            throw new ArgumentException($"A managed table or server named '{name}' is registered already; give each its own name.", nameof(name));
        }

        builder.AddSupervisor(services => new SupervisorOptions
        {
            Name = $"{name}.tree",
            Intensity = maxRestarts,
            Children = [services.GenServerChildSpec<TServer>(name)],
        });
        builder.Services.AddSingleton(services => new GenServerClient<TServer>(services.GetRequiredService<Node>(), name));
        return builder;
    }

    /// <summary>A child spec that starts a <typeparamref name="TServer"/> constructed through DI (with
    /// <see cref="ActivatorUtilities"/>) in its new process, registered as <paramref name="name"/>, which is also its
    /// child id.</summary>
    /// <typeparam name="TServer">The server's type.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The server's registered name and child id.</param>
    /// <param name="options">Other start options; its name is replaced by <paramref name="name"/>.</param>
    /// <returns>The child spec.</returns>
    public static ChildSpec GenServerChildSpec<TServer>(this IServiceProvider services, string name, GenServerOptions? options = null)
        where TServer : GenServer
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return ChildSpec.ForGenServer(name, () => ActivatorUtilities.CreateInstance<TServer>(services), (options ?? new GenServerOptions()) with { Name = name });
    }
}
