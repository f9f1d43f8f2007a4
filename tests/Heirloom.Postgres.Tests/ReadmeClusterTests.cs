using Heirloom.Behaviours;
using Heirloom.Hosting;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Postgres.Tests;

/// <summary>The clustered-table example of the README and of the package's README, run as written against the tests' PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReadmeClusterTests(PostgresServer server)
{
    // readme:begin
    private sealed class Writer : TableWorker<long, string>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            Table.Insert(Table.Count + 1, (string)request);               // committed in PostgreSQL when it returns
            return ValueTask.FromResult(CallResult.Reply(Table.Count));
        }
    }
    // readme:end

    [Fact]
    public async Task The_clustered_table_example_runs_as_written()
    {
        var connectionString = server.ConnectionString;

        // readme:begin
        await using var node = new Node();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connectionString });
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                ChildSpec.ForGenServer("writer", () => new Writer(), new GenServerOptions { Name = "writer" }),
                ClusteredTable.ChildSpec<long, string>(cluster, new ClusteredTableOptions { Name = "records", ManagerName = "manager", WorkerName = "writer" }),
            ],
        });
        var count = await GenServer.CallAsync<long>(node, "writer", "first record");  // committed in PostgreSQL when it returns
        // readme:end

        // The example uses the default schema, so a server kept between runs (HEIRLOOM_POSTGRES) may hold earlier records.
        var committed = await server.ScalarAsync<long>("SELECT count(*) FROM heirloom.rows WHERE table_name = 'records' AND state IS NOT NULL");
        Assert.True(count >= 1);
        Assert.Equal(count, committed);
        Assert.Contains(await cluster.GetMembersAsync(), m => m.NodeId == cluster.NodeId);
        Assert.Contains(await cluster.GetTablesAsync(), t => t.Name == "records" && t.Epoch >= 1 && t.Rows == count && t.OwnerNode == cluster.NodeId);
    }

    [Fact]
    public async Task The_hosted_cluster_example_runs_as_written()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Heirloom:Cluster:ConnectionString"] = server.ConnectionString,
            ["Heirloom:Cluster:Schema"] = PostgresServer.NewSchema(),
        });

        // readme:begin
        builder.Services.AddHeirloom(builder.Configuration.GetSection("Heirloom"))
            .AddPostgresCluster(builder.Configuration.GetSection("Heirloom:Cluster"))  // ConnectionString, NodeId, Tables:{name}
            .AddClusteredTable<Writer>("records");
        // readme:end

        using var host = builder.Build();
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<GenServerClient<Writer>>();
        Assert.Equal(1L, await writer.CallAsync<long>("first record"));
        await host.StopAsync();
        ReadmeSnippets.AssertBlocksAreRegions("src/Heirloom.Postgres/README.md");
    }
}
