using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Heirloom.Routing;

/// <summary>How a node's router listens, reaches its peers and authenticates them.</summary>
public sealed record RouterOptions
{
    /// <summary>The address the router listens on. Default loopback: set the machine's address for a cluster of
    /// several machines.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>The port it listens on; 0 (the default) takes a free one.</summary>
    public int Port { get; init; }

    /// <summary>The host other nodes reach this one at, as advertised in the cluster's membership; default the listen
    /// address (a name or address others can resolve is needed when listening on every interface).</summary>
    public string? AdvertisedHost { get; init; }

    /// <summary>A secret every node of the cluster shares: a connecting node proves it knows it (an HMAC of a random
    /// challenge; the secret itself never travels), and a node that does not is refused. Null: peers are not
    /// authenticated (only for a trusted network); set it whenever other hosts can reach the port.</summary>
    public string? Secret { get; init; }

    /// <summary>With a certificate, node-to-node traffic is TLS: this node serves it to the nodes connecting to it (and
    /// presents it to the nodes it connects to when <see cref="RequirePeerCertificates"/> is set). Null: plain TCP.
    /// Every node must agree.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>With TLS, whether each node must also present a certificate to the nodes it connects to (mutual TLS),
    /// checked by <see cref="ValidatePeerCertificate"/>. Default false.</summary>
    public bool RequirePeerCertificates { get; init; }

    /// <summary>With TLS, decides whether a peer's certificate is trusted; null uses the system's chain and name
    /// validation. A cluster with its own certificates checks their thumbprint or issuer here.</summary>
    public RemoteCertificateValidationCallback? ValidatePeerCertificate { get; init; }

    /// <summary>The types requests and replies may carry; every node registers the same.</summary>
    public MessageCodecs Codecs { get; init; } = new();

    /// <summary>How long past its deadline a caller waits for the owner's verdict on a call (was its handler started?)
    /// before reporting it as possibly started. Default 250 ms.</summary>
    public TimeSpan VerdictSlack { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a planned hand-off of a table this node owns waits for the routed calls already delivered to its
    /// worker to be answered, before the table's last commits (calls arriving meanwhile go to the next owner). Default
    /// 1 s; a call still unanswered then is told its outcome is unknown.</summary>
    public TimeSpan HandOffDrain { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long connecting to a peer may take before the call looks for the owner again. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message says which).</exception>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(ListenAddress);
        ArgumentNullException.ThrowIfNull(Codecs);
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"RouterOptions.Port is {Port}; use 0 (a free port) or a port from 1 to 65535.", nameof(Port));
        }

        if (Secret is { Length: 0 })
        {
            throw new ArgumentException("RouterOptions.Secret is empty; use null for no authentication, or a long random secret shared by every node.", nameof(Secret));
        }

        if (VerdictSlack < TimeSpan.Zero || HandOffDrain < TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("RouterOptions.VerdictSlack and HandOffDrain must not be negative, and ConnectTimeout must be positive.", nameof(VerdictSlack));
        }

        if (RequirePeerCertificates && Certificate is null)
        {
            throw new ArgumentException("RouterOptions.RequirePeerCertificates needs a Certificate: mutual TLS presents this node's own.", nameof(RequirePeerCertificates));
        }
    }
}
