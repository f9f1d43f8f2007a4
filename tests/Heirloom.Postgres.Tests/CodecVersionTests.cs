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
    public async Task A_node_writing_another_codec_version_than_the_table_s_rows_refuses_it_naming_both_versions()
    {
        var schema = await TableWrittenAtAsync(new JsonCodec<long>("amount"));

        var refused = Assert.IsType<InvalidOperationException>(await RefusedAsync(schema, new JsonCodec<long>("amount", version: 2)));

        Assert.Contains("holds amount values at version 1, but this node writes version 2", refused.Message);
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
