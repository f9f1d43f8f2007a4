using System.Buffers.Binary;
using Heirloom.Behaviours;
using Npgsql;
using Xunit.Abstractions;

namespace Heirloom.Routing.Tests;

/// <summary>Three node processes on loopback serving six tables, every one calling their workers through its router,
/// while the owner of one of them is killed (SIGKILL) again and again and replaced, and the balancer moves tables to each
/// replacement (planned hand-offs) under the same calls.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiProcessTests(PostgresServer server, ITestOutputHelper output)
{
    private const int Kills = 20;
    private const int TimeoutMs = 3_000;
    private const int Tables = 6;

    // Beyond its deadline, a caller waits RouterOptions.VerdictSlack (250 ms) for the owner's verdict; the rest is room
    // for two processes sharing two cores with PostgreSQL.
    private const int SlackMs = 750;

    [Fact]
    public async Task Killing_an_owner_20_times_and_moving_tables_under_routed_calls_from_every_node_every_call_ends_typed_within_its_deadline_and_no_acknowledged_write_is_lost()
    {
        var schema = PostgresServer.NewSchema();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var nodes = new List<NodeHostProcess>();
        var gone = new List<NodeHostProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await StartNodeAsync(schema, $"n{i}", generation: i));
            }

            for (var kill = 0; kill < Kills; kill++)
            {
                var owner = await OwnerAsync(schema, nodes);
                owner.Kill();
                nodes.Remove(owner);
                gone.Add(owner);
                await NewOwnerAsync(schema, owner.NodeId);
                nodes.Add(await StartNodeAsync(schema, $"{owner.NodeId.Split('.')[0]}.{kill + 3}", generation: kill + 3));
                Assert.True(started.Elapsed < TimeSpan.FromMinutes(4), $"only {kill} kills in {started.Elapsed}");
            }

            await Task.WhenAll(nodes.Select(n => n.StopAsync()));
            var outcomes = nodes.Concat(gone).SelectMany(n => n.Outcomes).ToList();
            var written = await WrittenKeysAsync(schema);
            var moves = nodes.Concat(gone).Sum(n => n.Moves);
            Report(outcomes, started.Elapsed);
            output.WriteLine($"{moves} planned moves of a table by rebalancing or stopping");

            Assert.DoesNotContain(outcomes, o => o.Kind == 'X');                                    // every failure typed
            Assert.DoesNotContain(outcomes, o => o.Milliseconds > TimeoutMs + SlackMs);            // within the deadline
            Assert.DoesNotContain(outcomes, o => o.Kind == 'A' && !written.Contains(o.Key));       // no acknowledged write lost
            Assert.DoesNotContain(outcomes, o => o.Kind == 'N' && written.Contains(o.Key));        // "not started" means not applied
            Assert.True(moves >= Kills / 2, $"only {moves} planned moves: the calls did not meet the balancer's moves");
            Assert.True(outcomes.Count(o => o.Kind == 'A') > 1_000, "too few calls were acknowledged to say anything");
        }
        finally
        {
            foreach (var node in nodes.Concat(gone))
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_call_to_a_frozen_owner_ends_after_its_deadline_and_the_verdict_slack_as_possibly_started()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await NodeHostProcess.StartAsync(server.ConnectionString, schema, "frozen", callers: 1, TimeoutMs, keyBase: 0);
        await OwnerAsync(schema, [owner]);
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "caller", serves: false);
        Assert.Equal(1L, await caller.Router.CallAsync<long>("ledger", 1L, TimeSpan.FromSeconds(10)));

        owner.Freeze();
        try
        {
            var timeout = TimeSpan.FromMilliseconds(500);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var expired = await Assert.ThrowsAsync<CallTimeoutException>(() => caller.Router.CallAsync<long>("ledger", 2L, timeout).WaitAsync(TimeSpan.FromSeconds(10)));
            clock.Stop();

            // Sent, then no word from the owner: it may have started the handler. The caller waited for the deadline and
            // the verdict slack, and no longer than that plus the connection's check of expired calls and a margin for
            // this loaded machine.
            Assert.True(expired.HandlerStarted);
            var least = timeout + new RouterOptions().VerdictSlack;
            Assert.InRange(clock.Elapsed, least - TimeSpan.FromMilliseconds(20), least + TimeSpan.FromMilliseconds(750));
        }
        finally
        {
            owner.Thaw();
        }
    }

    private async Task<NodeHostProcess> StartNodeAsync(string schema, string nodeId, int generation)
    {
        var node = await NodeHostProcess.StartAsync(server.ConnectionString, schema, nodeId, callers: 16, TimeoutMs, keyBase: generation * 1_000_000_000L, Tables);
        node.Go();
        return node;
    }

    /// <summary>The node process owning the table now, once one does.</summary>
    private async Task<NodeHostProcess> OwnerAsync(string schema, List<NodeHostProcess> nodes)
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            await using var command = source.CreateCommand($"SELECT owner_node FROM {schema}.tables WHERE name = 'ledger' AND owner_node = ANY($1)");
            command.Parameters.Add(new() { Value = nodes.Select(n => n.NodeId).ToArray() });
            if (await command.ExecuteScalarAsync() is string id && (await ServingAsync(source, schema, id)))
            {
                return nodes.Single(n => n.NodeId == id);
            }

            await Task.Delay(50);   // polling PostgreSQL's record, not hiding a race: the test waits for a state
        }

        throw new TimeoutException("No live node took the table within 30 s.");
    }

    private static async Task<bool> ServingAsync(NpgsqlDataSource source, string schema, string nodeId)
    {
        await using var command = source.CreateCommand($"SELECT 'ledger' = ANY(serving) FROM {schema}.nodes WHERE node_id = $1");
        command.Parameters.Add(new() { Value = nodeId });
        return await command.ExecuteScalarAsync() is true;
    }

    /// <summary>Waits until a node other than <paramref name="killed"/> owns the table.</summary>
    private async Task NewOwnerAsync(string schema, string killed)
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await source.CreateCommand($"SELECT owner_node FROM {schema}.tables WHERE name = 'ledger'").ExecuteScalarAsync() is string id && id != killed)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No node took the table from {killed} within 30 s.");
    }

    /// <summary>The keys committed, each only if it is in the table it was written to.</summary>
    private async Task<HashSet<long>> WrittenKeysAsync(string schema)
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var command = source.CreateCommand($"SELECT table_name, key FROM {schema}.rows WHERE state IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new HashSet<long>();
        while (await reader.ReadAsync())
        {
            var key = BinaryPrimitives.ReadInt64LittleEndian(reader.GetFieldValue<byte[]>(1));
            if (reader.GetString(0) == Heirloom.Routing.NodeHost.Tables.Name(Heirloom.Routing.NodeHost.Tables.Of(key, Tables)))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    private void Report(List<(char Kind, long Key, long Milliseconds, string Error)> outcomes, TimeSpan elapsed)
    {
        output.WriteLine($"{Kills} kills in {elapsed.TotalSeconds:F1} s; {outcomes.Count} calls: " +
            string.Join(", ", outcomes.GroupBy(o => o.Kind).Select(g => $"{g.Key} {g.Count()}")) +
            $"; slowest {outcomes.Max(o => o.Milliseconds)} ms");
        foreach (var slow in outcomes.OrderByDescending(o => o.Milliseconds).Take(5))
        {
            output.WriteLine($"  slow: {slow}");
        }

        foreach (var group in outcomes.Where(o => o.Kind != 'A').GroupBy(o => (o.Kind, o.Error)))
        {
            output.WriteLine($"  {group.Key.Kind} {group.Key.Error}: {group.Count()}");
        }
    }
}
