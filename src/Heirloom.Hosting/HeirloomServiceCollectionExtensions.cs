using System.Diagnostics.Metrics;
using Heirloom.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>Registers Heirloom in a service collection.</summary>
public static class HeirloomServiceCollectionExtensions
{
    /// <summary>
    /// Adds a Heirloom <see cref="Node"/> owned by the host: it starts with the host (its declared supervision trees
    /// in order), reports crashes and supervisor events through <c>ILogger</c>, publishes metrics on the host's
    /// <c>IMeterFactory</c> (see <see cref="Diagnostics.HeirloomInstrumentation"/>), and stops with the host (trees in
    /// reverse order, then every process, journals flushed). Its clock (<see cref="Node.TimeProvider"/>) is the
    /// container's <see cref="TimeProvider"/> when one is registered. Options are validated when the host starts. Health
    /// checks to register: <see cref="HeirloomHealthCheck"/>, <see cref="ManagedTablesHealthCheck"/>,
    /// <see cref="DurableTablesHealthCheck"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets options in code.</param>
    /// <returns>A builder to declare supervision trees on.</returns>
    public static HeirloomBuilder AddHeirloom(this IServiceCollection services, Action<HeirloomOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<HeirloomOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return Register(services);
    }

    /// <summary>Adds Heirloom as <see cref="AddHeirloom(IServiceCollection, Action{HeirloomOptions}?)"/> does, its
    /// options bound from a configuration section (by convention <see cref="HeirloomOptions.SectionName"/>:
    /// <c>builder.Configuration.GetSection("Heirloom")</c>), validated when the host starts.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section to bind, e.g. <c>{ "ShutdownTimeout": "00:00:10" }</c>.</param>
    /// <returns>A builder to declare supervision trees on.</returns>
    public static HeirloomBuilder AddHeirloom(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<HeirloomOptions>().Bind(configuration).ValidateOnStart();
        return Register(services);
    }

    private static HeirloomBuilder Register(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HeirloomOptions>, HeirloomOptionsValidator>());
        var trees = services.FirstOrDefault(d => d.ServiceType == typeof(SupervisionTrees))?.ImplementationInstance as SupervisionTrees;
        var nodeServices = services.FirstOrDefault(d => d.ServiceType == typeof(NodeServices))?.ImplementationInstance as NodeServices;
        if (trees is null || nodeServices is null)
        {
            trees = new SupervisionTrees();
            nodeServices = new NodeServices();
            services.AddSingleton(trees);
            services.AddSingleton(nodeServices);
            services.AddSingleton(provider => new Node(provider.GetService<IMeterFactory>())
            {
                ShutdownTimeout = provider.GetRequiredService<IOptions<HeirloomOptions>>().Value.ShutdownTimeout,

                // The container's clock when it has one (a test registers a fake), as other time-aware services use.
                TimeProvider = provider.GetService<TimeProvider>() ?? TimeProvider.System,
            });
            services.TryAddSingleton<ProcessLabels>();
            services.TryAddSingleton<NodeReportLogger>();
            services.TryAddSingleton<StorageFailures>();
            services.TryAddSingleton(provider => new HeirloomHealthCheck(provider.GetRequiredService<HeirloomHostedService>()));
            services.TryAddSingleton<ManagedTablesHealthCheck>();
            services.TryAddSingleton(provider => new DurableTablesHealthCheck(
                provider.GetRequiredService<Node>(),
                provider.GetRequiredService<StorageFailures>(),
                provider.GetRequiredService<IOptionsMonitor<HeirloomOptions>>()));
            services.AddSingleton<HeirloomHostedService>();
            services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<HeirloomHostedService>());
        }

        return new HeirloomBuilder(services, trees, nodeServices);
    }
}
