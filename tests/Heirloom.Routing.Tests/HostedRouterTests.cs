using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Heirloom.Hosting;
using Heirloom.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Routing.Tests;

/// <summary>The router declared in the Generic Host after the cluster and its clustered table, from configuration.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HostedRouterTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private IHost BuildHost(string schema, string nodeId, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Heirloom:Cluster:ConnectionString"] = server.ConnectionString,
            ["Heirloom:Cluster:Schema"] = schema,
            ["Heirloom:Cluster:NodeId"] = nodeId,
            ["Heirloom:Cluster:Tables:ledger:WritesWaitForCommit"] = "false",
            ["Heirloom:Router:ListenAddress"] = "127.0.0.1",
            ["Heirloom:Router:Port"] = "0",
            ["Heirloom:Router:Secret"] = "a secret every node of the test shares",
        });
        builder.Configuration.AddInMemoryCollection(extra ?? []);

        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"))
            .AddPostgresCluster(builder.Configuration.GetSection("Heirloom:Cluster"))
            .AddClusteredTable<LedgerWorker>("ledger")
            .AddNodeRouter(builder.Configuration.GetSection("Heirloom:Router"), codecs => codecs.Register<Lookup>());
        return builder.Build();
    }

    [Fact]
    public async Task A_call_from_the_other_hosts_injected_router_reaches_the_owners_worker()
    {
        var schema = PostgresServer.NewSchema();
        using var owner = BuildHost(schema, "owner");
        using var other = BuildHost(schema, "other");
        await owner.StartAsync();

        // The only node running: the call waits for it to take the table, then goes to its worker directly.
        var ownerRouter = owner.Services.GetRequiredService<NodeRouter>();
        Assert.Equal(1L, await ownerRouter.CallAsync<long>("ledger", 1L, Patience));
        Assert.True(owner.Services.GetRequiredService<PostgresCluster>().Owns("ledger"));
        Assert.StartsWith("tcp://127.0.0.1:", ownerRouter.Address);

        await other.StartAsync();
        var router = other.Services.GetRequiredService<NodeRouter>();
        Assert.False(other.Services.GetRequiredService<PostgresCluster>().Owns("ledger"));
        Assert.Equal(2L, await router.CallAsync<long>("ledger", 2L, Patience));
        Assert.Equal(2L, await router.CallAsync<long>("ledger", new Lookup(2), Patience));

        // The write is in the owner's table, done by its worker.
        var ledger = owner.Services.GetRequiredService<GenServerClient<LedgerWorker>>();
        Assert.Equal(2L, await ledger.CallAsync<long>(new Lookup(2), Patience));
        Assert.Equal(2L, await ledger.CallAsync<long>("count", Patience));

        await other.StopAsync();
        await owner.StopAsync();
    }

    [Fact]
    public async Task Routers_with_a_certificate_file_and_its_pinned_thumbprint_call_each_other_over_tls_and_dispose_the_certificate_when_their_hosts_stop()
    {
        var file = Path.Combine(Path.GetTempPath(), $"heirloom-node-{Guid.NewGuid():N}.pfx");
        string thumbprint;
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=heirloom-node", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            thumbprint = created.GetCertHashString(HashAlgorithmName.SHA256);
            await File.WriteAllBytesAsync(file, created.Export(X509ContentType.Pkcs12, "a password"));
        }

        try
        {
            // A certificate of the cluster's own, which the system does not trust: each node pins its thumbprint.
            var tls = new Dictionary<string, string?>
            {
                ["Heirloom:Router:CertificatePath"] = file,
                ["Heirloom:Router:CertificatePassword"] = "a password",
                ["Heirloom:Router:PeerCertificateThumbprints"] = thumbprint.ToLowerInvariant(),
            };
            var schema = PostgresServer.NewSchema();
            using var owner = BuildHost(schema, "owner", tls);
            using var other = BuildHost(schema, "other", tls);
            await owner.StartAsync();
            var ownerRouter = owner.Services.GetRequiredService<NodeRouter>();
            Assert.Equal(1L, await ownerRouter.CallAsync<long>("ledger", 1L, Patience));
            Assert.StartsWith("tls://127.0.0.1:", ownerRouter.Address);

            await other.StartAsync();
            var router = other.Services.GetRequiredService<NodeRouter>();
            Assert.Equal(2L, await router.CallAsync<long>("ledger", 2L, Patience));

            var certificate = router.Options.Certificate!;
            Assert.NotEqual(IntPtr.Zero, certificate.Handle);
            await other.StopAsync();
            Assert.Equal(IntPtr.Zero, certificate.Handle);
            await owner.StopAsync();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_pinned_thumbprint_that_is_not_one_fails_the_hosts_start_saying_what_it_should_be()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "pinned", new() { ["Heirloom:Router:PeerCertificateThumbprints"] = "AB:CD" });
        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        var cause = Assert.IsType<ArgumentException>(e.InnerException);
        Assert.Contains("Heirloom:Router:PeerCertificateThumbprints is 'AB:CD', which is not a list of SHA-256 thumbprints", cause.Message);
    }

    [Fact]
    public async Task Stopping_the_owners_host_hands_the_table_off_and_calls_from_the_other_host_go_on_succeeding()
    {
        var schema = PostgresServer.NewSchema();
        using var owner = BuildHost(schema, "owner");
        using var other = BuildHost(schema, "other");
        await owner.StartAsync();
        Assert.Equal(1L, await owner.Services.GetRequiredService<NodeRouter>().CallAsync<long>("ledger", 1L, Patience));
        await other.StartAsync();
        var router = other.Services.GetRequiredService<NodeRouter>();

        // Calls one after another from the other host, before, during and after the owner's host stops: 20 before it
        // starts stopping, and 20 after it has stopped.
        var acknowledged = new ConcurrentQueue<long>();
        var twentyBefore = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ownerStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Task.Run(async () =>
        {
            var after = 0;
            for (var key = 100L; key < 100_000 && after < 20; key++)
            {
                var stoppedBefore = ownerStopped.Task.IsCompleted;
                acknowledged.Enqueue(await router.CallAsync<long>("ledger", key, TimeSpan.FromSeconds(10)));
                after += stoppedBefore ? 1 : 0;
                if (acknowledged.Count == 20)
                {
                    twentyBefore.TrySetResult();
                }
            }
        });

        await Task.WhenAny(twentyBefore.Task, calls).WaitAsync(Patience);
        await owner.StopAsync();
        ownerStopped.SetResult();
        await calls.WaitAsync(TimeSpan.FromSeconds(90));

        var cluster = other.Services.GetRequiredService<PostgresCluster>();
        Assert.True(cluster.Owns("ledger"));
        var ledger = other.Services.GetRequiredService<GenServerClient<LedgerWorker>>();
        Assert.Equal(1L + acknowledged.Count, await ledger.CallAsync<long>("count", Patience));
        foreach (var key in acknowledged)
        {
            Assert.Equal(key, await ledger.CallAsync<long>(new Lookup(key), Patience));
        }

        await other.StopAsync();
    }

    [Fact]
    public async Task A_misspelt_router_setting_fails_the_hosts_start_naming_it()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "misspelt", new() { ["Heirloom:Router:Prot"] = "7000" });
        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        var cause = Assert.IsType<ArgumentException>(e.InnerException);
        Assert.Contains("Heirloom:Router has a setting the router does not know: Prot", cause.Message);
        Assert.Contains(nameof(NodeRouter), e.Message);
    }

    [Fact]
    public async Task A_router_setting_that_does_not_parse_fails_the_hosts_start_saying_what_it_should_be()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "unparsed", new() { ["Heirloom:Router:ListenAddress"] = "localhost" });
        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        var cause = Assert.IsType<ArgumentException>(e.InnerException);
        Assert.Contains("Heirloom:Router:ListenAddress is 'localhost', which is not an IP address", cause.Message);
    }

    [Fact]
    public void A_router_added_before_any_cluster_fails_its_registration_saying_to_add_the_cluster_first()
    {
        var builder = Host.CreateApplicationBuilder();
        var heirloom = builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"));
        var e = Assert.Throws<InvalidOperationException>(() => heirloom.AddNodeRouter(_ => new RouterOptions()));
        Assert.Contains("call AddPostgresCluster on the same builder first", e.Message);
    }

}
