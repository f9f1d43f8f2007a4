using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Heirloom.Routing.Tests;

/// <summary>Node-to-node security: TLS with the cluster's own certificate, and the shared secret that authenticates
/// peers.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SecurityTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task With_TLS_and_a_shared_secret_a_peer_that_knows_it_is_served_and_one_with_a_wrong_secret_is_refused()
    {
        using var certificate = SelfSigned();
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a", options: Secured(certificate, "the cluster's secret"));
        await owner.Table.WaitAsync(Patience);
        await using var member = await RoutedNode.StartAsync(server.ConnectionString, schema, "b", serves: false, Secured(certificate, "the cluster's secret"));
        await using var intruder = await RoutedNode.StartAsync(server.ConnectionString, schema, "x", serves: false, Secured(certificate, "a guess"));

        Assert.StartsWith("tls://", owner.Router.Address);
        Assert.Equal(5L, await member.Router.CallAsync<long>("ledger", 5L));

        var refused = await Assert.ThrowsAsync<PeerRefusedException>(() => intruder.Router.CallAsync<long>("ledger", 6L));
        Assert.Equal(owner.Router.Address, refused.Address);
        Assert.Contains("shared secret", refused.Message);
        Assert.Equal(-1L, await member.Router.CallAsync<long>("ledger", new Lookup(6)));   // the intruder's call was never handled
    }

    [Fact]
    public async Task A_peer_that_does_not_trust_the_nodes_certificate_is_refused_by_the_TLS_handshake()
    {
        using var certificate = SelfSigned();
        using var other = SelfSigned();
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a", options: Secured(certificate, "secret"));
        await owner.Table.WaitAsync(Patience);
        await using var stranger = await RoutedNode.StartAsync(server.ConnectionString, schema, "s", serves: false, Secured(other, "secret"));

        var refused = await Assert.ThrowsAsync<PeerRefusedException>(() => stranger.Router.CallAsync<long>("ledger", 1L));
        Assert.Contains("TLS", refused.Message);
    }

    /// <summary>Options trusting exactly <paramref name="certificate"/>, as a cluster with its own certificate does.</summary>
    private static RouterOptions Secured(X509Certificate2 certificate, string secret) => RoutedNode.DefaultOptions with
    {
        Certificate = certificate,
        Secret = secret,
        ValidatePeerCertificate = (_, peer, _, _) => peer is not null && peer.GetCertHashString() == certificate.GetCertHashString(),
    };

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=heirloom-node", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
