using Heirloom.Postgres.Testing;
using Heirloom.Processes;
using Heirloom.Testing;

namespace Heirloom.Postgres.Tests;

/// <summary>The example of the throwaway server's package README, run as written.</summary>
public sealed class ThrowawayPostgresReadmeTests
{
    [Fact]
    public async Task The_throwaway_server_example_runs_as_written()
    {
        await using var node = new Node();

        // readme:begin
        await using var postgres = await ThrowawayPostgres.StartAsync();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = postgres.ConnectionString });
        // readme:end

        Assert.Contains(await cluster.GetMembersAsync(), m => m.NodeId == cluster.NodeId);
        ReadmeSnippets.AssertBlocksAreRegions("src/Heirloom.Postgres.Testing/README.md");
    }
}
