using Heirloom.Behaviours;
using Heirloom.Persistence;
using Heirloom.Processes;

namespace Heirloom.Postgres.Tests;

/// <summary>Nodes of two releases on one clustered table: a node that cannot read the table's codec version refuses
/// it when it starts, before it waits for (or takes) the table's ownership.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CodecVersionTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly ClusteredTableOptions Ledger = new() { Name = "ledger", ManagerName = "manager", WorkerName = "writer" };

    private async Task<string> TableWrittenAtAsync(ICodec<long> codec)
    {
        var schema = PostgresServer.NewSchema();
        var writer = await InProcessNode.StartAsync(server.ConnectionString, schema, "writer-node", valueCodec: codec);
        await writer.Table.WaitAsync(Patience);
        Assert.Equal(1L, await GenServer.CallAsync<long>(writer.Node, "writer", 1L));
        await writer.DisposeAsync(); // the table is free: any node could take it now
        return schema;
    }

    private async Task<Exception> RefusedAsync(string schema, ICodec<long> codec)
    {
        await using var node = new Node();
        await using var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = server.ConnectionString, Schema = schema, NodeId = "refused" });
        var error = await Assert.ThrowsAsync<GenServerStartException>(() => ClusteredTable.StartAsync<long, long>(cluster, Ledger, valueCodec: codec));

        // Refused before the lock was waited for: the table's epoch and owner are the previous owner's.
        Assert.Equal(1L, await server.ScalarAsync<long>($"SELECT epoch FROM {schema}.tables WHERE name = 'ledger'"));
        Assert.Equal("writer-node", await server.ScalarAsync<string>($"SELECT owner_node FROM {schema}.tables WHERE name = 'ledger'"));
        return error.InnerException!;
    }

    [Fact]
    public async Task A_node_of_an_older_release_refuses_a_table_written_at_a_newer_codec_version_before_taking_it()
    {
        var schema = await TableWrittenAtAsync(new JsonCodec<long>("amount", version: 2));
        Assert.Equal("amount@v2", await server.ScalarAsync<string>($"SELECT value_codec FROM {schema}.tables WHERE name = 'ledger'"));

        var refused = Assert.IsType<CodecVersionException>(await RefusedAsync(schema, new JsonCodec<long>("amount")));

        Assert.Equal((TableFileError.NewerCodecVersion, "amount", 2, 1), (refused.Error, refused.Codec, refused.FileVersion, refused.Version));
        Assert.Contains("Clustered table 'ledger'", refused.Message);
        Assert.Contains("amount values at version 2, newer than this code's version 1", refused.Message);
    }

    [Fact]
    public async Task A_newer_node_without_the_upgrade_step_refuses_a_table_of_the_older_version_naming_both()
    {
        var schema = await TableWrittenAtAsync(new JsonCodec<long>("amount"));

        var refused = Assert.IsType<CodecVersionException>(await RefusedAsync(schema, new JsonCodec<long>("amount", version: 2)));

        Assert.Equal((TableFileError.MissingUpgradeStep, 1, 2), (refused.Error, refused.FileVersion, refused.Version));
        Assert.Contains("amount values at version 1, but this code writes version 2", refused.Message);
    }

    /// <summary>Version 2 of the amount: in cents, where version 1 held whole units.</summary>
    private static ICodec<long> Cents => new VersionedCodec<long>(new JsonCodec<long>("amount")).Then(new JsonCodec<long>("amount", version: 2), units => units * 100);

    [Fact]
    public async Task A_newer_node_reads_the_older_rows_takes_the_table_upgraded_and_rewrites_its_rows_at_the_new_version()
    {
        var schema = await TableWrittenAtAsync(new JsonCodec<long>("amount"));
        var newer = await InProcessNode.StartAsync(server.ConnectionString, schema, "newer", valueCodec: Cents);

        var table = await newer.Table.WaitAsync(Patience);

        Assert.Equal(100L, table.Lookup(1L).Single());
        Assert.Equal("amount@v2", await server.ScalarAsync<string>($"SELECT value_codec FROM {schema}.tables WHERE name = 'ledger'"));
        await using var standby = await InProcessNode.StartAsync(server.ConnectionString, schema, "standby", valueCodec: Cents);
        Assert.Equal(2L, await GenServer.CallAsync<long>(newer.Node, "writer", 2L));

        // A node of the same release follows the rewritten rows and the new ones, and takes the table with both.
        await newer.DisposeAsync();
        var taken = await standby.Table.WaitAsync(Patience);
        Assert.Equal([new(1L, 100L), new(2L, 2L)], taken.ToList().OrderBy(p => p.Key));
    }

    [Fact]
    public async Task A_node_that_waited_for_a_table_since_upgraded_by_a_newer_release_refuses_it_before_taking_ownership()
    {
        var schema = PostgresServer.NewSchema();
        var owner = await InProcessNode.StartAsync(server.ConnectionString, schema, "owner", valueCodec: new JsonCodec<long>("amount"));
        await owner.Table.WaitAsync(Patience);
        Assert.Equal(1L, await GenServer.CallAsync<long>(owner.Node, "writer", 1L));
        await using var older = await InProcessNode.StartAsync(server.ConnectionString, schema, "older", valueCodec: new JsonCodec<long>("amount"));
        Assert.Equal(ClusteredTableRole.Standby, (await older.StatusAsync()).Role);

        // What a newer release's owner leaves behind: the table recorded at version 2.
        await server.ScalarAsync<int>($"UPDATE {schema}.tables SET value_codec = 'amount@v2' WHERE name = 'ledger' RETURNING 1");
        await owner.DisposeAsync();

        var deadline = DateTime.UtcNow + Patience;
        while ((await older.StatusAsync()).Refusal is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the older node neither took nor refused the table");
            await Task.Delay(20);
        }

        var refusal = Assert.IsType<CodecVersionException>((await older.StatusAsync()).Refusal);
        Assert.Equal(TableFileError.NewerCodecVersion, refusal.Error);
        Assert.Equal(ClusteredTableRole.Standby, (await older.StatusAsync()).Role);
        Assert.Equal(1L, await server.ScalarAsync<long>($"SELECT epoch FROM {schema}.tables WHERE name = 'ledger'"));
        Assert.Equal("owner", await server.ScalarAsync<string>($"SELECT owner_node FROM {schema}.tables WHERE name = 'ledger'"));

        // Restored to version 1, the table is the older node's to take.
        await server.ScalarAsync<int>($"UPDATE {schema}.tables SET value_codec = 'amount' WHERE name = 'ledger' RETURNING 1");
        Assert.Equal(1L, (await older.Table.WaitAsync(Patience)).Lookup(1L).Single());
        Assert.Null((await older.StatusAsync()).Refusal);
    }

    [Fact]
    public async Task A_node_with_the_same_codec_under_a_stable_name_that_aliases_the_recorded_one_takes_the_table()
    {
        var schema = await TableWrittenAtAsync(new JsonCodec<long>("amount"));
        await using var renamed = await InProcessNode.StartAsync(server.ConnectionString, schema, "renamed", valueCodec: new AliasedAmount());

        var table = await renamed.Table.WaitAsync(Patience);

        Assert.Equal(1L, table.Lookup(1L).Single());
    }

    /// <summary>The amount codec renamed, keeping its old name as an alias.</summary>
    private sealed class AliasedAmount : ICodec<long>
    {
        private readonly JsonCodec<long> _json = new("amount");

        public string Name => "ledger-amount";

        public IReadOnlyCollection<string> Aliases => ["amount"];

        public void Write(System.Buffers.IBufferWriter<byte> writer, long value) => _json.Write(writer, value);

        public long Read(ReadOnlySpan<byte> data) => _json.Read(data);
    }
}
