using Heirloom.Hosting;
using Heirloom.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Routing;

/// <summary>A node's router in the .NET Generic Host.</summary>
public static class HeirloomRouterExtensions
{
    /// <summary>
    /// Starts this node's <see cref="NodeRouter"/> when the host starts, after the cluster added with
    /// <c>AddPostgresCluster</c> and before the supervision trees, and disposes it when the host stops, after the trees
    /// and before the cluster is left. The router is resolvable from DI while the host runs: inject
    /// <see cref="NodeRouter"/> to call a clustered table's worker on whichever node owns the table.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configuration">The router's section, e.g. <c>builder.Configuration.GetSection("Heirloom:Router")</c>:
    /// <c>ListenAddress</c>, <c>Port</c>, <c>AdvertisedHost</c>, <c>Secret</c>, <c>VerdictSlack</c>,
    /// <c>HandOffDrain</c>, <c>ConnectTimeout</c> as in <see cref="RouterOptions"/>, and for TLS
    /// <c>CertificatePath</c> (a PKCS#12 file), <c>CertificatePassword</c>, <c>RequirePeerCertificates</c> and
    /// <c>PeerCertificateThumbprints</c> (SHA-256, comma-separated: the only peer certificates trusted). An
    /// unknown key or a value that does not parse fails the host's start, naming it; an empty section takes the
    /// defaults.</param>
    /// <param name="codecs">Registers the types requests, casts and replies may carry; every node registers the
    /// same.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No cluster was added to the builder before the router.</exception>
    public static HeirloomBuilder AddNodeRouter(this HeirloomBuilder builder, IConfiguration configuration, Action<MessageCodecs>? codecs = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddRouter(
            _ =>
            {
                var options = RouterSettings.Bind(configuration);
                codecs?.Invoke(options.Codecs);
                return options;
            },
            ownsCertificate: true);
    }

    /// <summary>Starts this node's <see cref="NodeRouter"/> as
    /// <see cref="AddNodeRouter(HeirloomBuilder, IConfiguration, Action{MessageCodecs})"/> does, with options built in
    /// code when the host starts (TLS with a certificate from a store, a peer validation callback, codecs).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Builds the router's options from the host's services.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No cluster was added to the builder before the router.</exception>
    public static HeirloomBuilder AddNodeRouter(this HeirloomBuilder builder, Func<IServiceProvider, RouterOptions> options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddRouter(options, ownsCertificate: false);
    }

    /// <summary>Adds the router as a node service. A certificate the router's options were loaded with from
    /// configuration is the router's own, disposed with it (or at once when it fails to start); one given in code stays
    /// the caller's.</summary>
    private static HeirloomBuilder AddRouter(this HeirloomBuilder builder, Func<IServiceProvider, RouterOptions> options, bool ownsCertificate)
    {
        // The cluster is a node service too: the router must be declared after it, so that it starts once the node has
        // joined (it advertises its address in the membership) and is disposed before the node leaves.
        if (!builder.Services.Any(d => d.ServiceType == typeof(PostgresCluster)))
        {
            throw new InvalidOperationException(
                "AddNodeRouter needs a cluster added before it: call AddPostgresCluster on the same builder first " +
                "(the router starts after the node joins the cluster and stops before it leaves).");
        }

        return builder.AddNodeService(async (services, _, cancellation) =>
        {
            var settings = options(services);
            try
            {
                var router = await NodeRouter.StartAsync(services.GetRequiredService<PostgresCluster>(), settings, cancellation).ConfigureAwait(false);
                router.OwnedCertificate = ownsCertificate ? settings.Certificate : null;
                return router;
            }
            catch when (ownsCertificate)
            {
                settings.Certificate?.Dispose();
                throw;
            }
        });
    }
}
