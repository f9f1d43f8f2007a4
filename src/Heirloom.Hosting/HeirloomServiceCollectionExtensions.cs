using Heirloom.Processes;
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
    /// in order), reports crashes and supervisor events through <c>ILogger</c>, publishes metrics on the
    /// <see cref="HeirloomMetrics.MeterName"/> meter, and stops with the host (trees in reverse order, then every
    /// process, journals flushed). Options are validated when the host starts; bind them from configuration with
    /// <c>services.Configure&lt;HeirloomOptions&gt;(configuration.GetSection(HeirloomOptions.SectionName))</c>. The host
    /// provides <c>IMeterFactory</c> (the Generic Host registers it).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets options in code, after configuration.</param>
    /// <returns>A builder to declare supervision trees on.</returns>
    public static HeirloomBuilder AddHeirloom(this IServiceCollection services, Action<HeirloomOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<HeirloomOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HeirloomOptions>, HeirloomOptionsValidator>());

        var trees = services.FirstOrDefault(d => d.ServiceType == typeof(SupervisionTrees))?.ImplementationInstance as SupervisionTrees;
        if (trees is null)
        {
            trees = new SupervisionTrees();
            services.AddSingleton(trees);
            services.AddSingleton(provider => new Node { ShutdownTimeout = provider.GetRequiredService<IOptions<HeirloomOptions>>().Value.ShutdownTimeout });
            services.TryAddSingleton<HeirloomMetrics>();
            services.TryAddSingleton<NodeReportLogger>();
            services.TryAddSingleton(provider => new HeirloomHealthCheck(provider.GetRequiredService<HeirloomHostedService>()));
            services.AddSingleton<HeirloomHostedService>();
            services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<HeirloomHostedService>());
        }

        return new HeirloomBuilder(services, trees);
    }
}
