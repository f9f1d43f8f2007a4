using Heirloom.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Postgres.Tests;

/// <summary>A cluster and its clustered tables declared in the Generic Host, from configuration.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HostedClusterTests(PostgresServer server)
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
        });
        builder.Configuration.AddInMemoryCollection(extra ?? []);

        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"))
            .AddPostgresCluster(builder.Configuration.GetSection("Heirloom:Cluster"))
            .AddClusteredTable<LedgerWorker>("ledger");
        return builder.Build();
    }

    [Fact]
    public async Task A_hosted_node_serves_its_clustered_table_and_hands_it_to_the_next_node_when_its_host_stops()
    {
        var schema = PostgresServer.NewSchema();
        using var first = BuildHost(schema, "first");
        using var second = BuildHost(schema, "second");
        await first.StartAsync();
        var ledger = first.Services.GetRequiredService<GenServerClient<LedgerWorker>>();
        Assert.Equal(7L, await ledger.CallAsync<long>(7L, Patience));
        await second.StartAsync();

        // Stopping the first host leaves the cluster gracefully: its table goes to the second node without waiting
        // for its lease, with the write it acknowledged.
        await first.StopAsync();
        var cluster = second.Services.GetRequiredService<PostgresCluster>();
        var successor = second.Services.GetRequiredService<GenServerClient<LedgerWorker>>();
        Assert.Equal(8L, await successor.CallAsync<long>(8L, Patience));
        Assert.Equal(2L, await successor.CallAsync<long>("count", Patience));
        Assert.Contains(await cluster.GetTablesAsync(), t => t.Name == "ledger" && t.OwnerNode == "second" && t.Rows == 2);

        await second.StopAsync();
        Assert.Empty(await server.ScalarAsync<string[]>($"SELECT coalesce(array_agg(node_id), ARRAY[]::text[]) FROM {schema}.nodes") ?? []);
    }

    [Fact]
    public async Task The_cluster_is_not_resolvable_before_the_host_starts()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "early");
        var e = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<PostgresCluster>());
        Assert.Contains("not running", e.Message);
    }

    [Fact]
    public async Task A_cluster_without_a_connection_string_fails_the_hosts_start_and_says_where_to_set_it()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "unset", new() { ["Heirloom:Cluster:ConnectionString"] = "" });
        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        Assert.Contains("Heirloom:Cluster:ConnectionString is not set", e.Message);
        Assert.Contains(nameof(PostgresCluster), e.Message);
    }

    [Fact]
    public async Task A_misspelt_table_setting_fails_the_hosts_start_and_the_cluster_is_left()
    {
        var schema = PostgresServer.NewSchema();
        using var host = BuildHost(schema, "misspelt", new() { ["Heirloom:Cluster:Tables:ledger:WritesWaitForComit"] = "true" });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("WritesWaitForComit", e.Message);

        // The host does not stop a service whose start failed, so the node left the cluster itself.
        Assert.Equal(0L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.nodes WHERE node_id = 'misspelt'"));
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_hosts_start_with_the_cause()
    {
        using var host = BuildHost(PostgresServer.NewSchema(), "unreachable", new() { ["Heirloom:Cluster:ConnectionString"] = "Host=127.0.0.1;Port=1;Timeout=2" });
        var e = await Assert.ThrowsAsync<HeirloomStartException>(() => host.StartAsync());
        Assert.IsAssignableFrom<Npgsql.NpgsqlException>(e.InnerException);
    }
}
