using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Postgres;

namespace Heirloom.Routing.Tests;

/// <summary>Routed reads (<see cref="NodeRouter.LookupAsync{TKey, TValue}"/>): served by the owner, from another node
/// or this one; served by a local standby within a staleness bound and never beyond it; bad input.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReadTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_read_with_no_bound_is_served_by_the_owner_from_a_standby_node_a_node_without_the_table_and_the_owner_itself()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);
        Assert.Equal(70L, await caller.Router.CallAsync<long>("ledger", new Put(7, 70)));

        var fromStandby = await standby.Router.LookupAsync<long, long>("ledger", 7);
        var fromCaller = await caller.Router.LookupAsync<long, long>("ledger", 7);
        var fromOwner = await owner.Router.LookupAsync<long, long>("ledger", 7);
        var missing = await caller.Router.LookupAsync<long, long>("ledger", 8);

        Assert.All([fromStandby, fromCaller, fromOwner], read => Assert.Equal([70L], read.Values));
        Assert.Equal((ReadSource.RemoteOwner, "a", TimeSpan.Zero), (fromStandby.Source, fromStandby.NodeId, fromStandby.Staleness));
        Assert.Equal((ReadSource.RemoteOwner, "a"), (fromCaller.Source, fromCaller.NodeId));
        Assert.Equal((ReadSource.LocalOwner, "a"), (fromOwner.Source, fromOwner.NodeId));
        Assert.False(missing.Found);
        Assert.Empty(missing.Values);
        Assert.Equal((true, 70L), await standby.Router.TryGetAsync<long, long>("ledger", 7));
        Assert.Equal((false, 0L), await caller.Router.TryGetAsync<long, long>("ledger", 8));
    }

    [Fact]
    public async Task A_read_with_a_bound_the_standbys_copy_meets_is_served_by_the_standby_with_the_owner_unreachable()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        Assert.Equal(50L, await owner.Router.CallAsync<long>("ledger", new Put(5, 50)));
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");

        // The standby loaded the table after the write was acknowledged; with the owner's router gone, only the
        // standby's copy can serve the read.
        await owner.Router.DisposeAsync();
        var read = await standby.Router.LookupAsync<long, long>("ledger", 5, maxStaleness: TimeSpan.FromMinutes(1), timeout: TimeSpan.FromSeconds(2));

        Assert.Equal([50L], read.Values);
        Assert.Equal((ReadSource.LocalStandby, "b"), (read.Source, read.NodeId));
        Assert.InRange(read.Staleness, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Assert.Empty((await standby.Router.LookupAsync<long, long>("ledger", 6, maxStaleness: TimeSpan.FromMinutes(1))).Values);

        // Without a bound the owner must serve it, and it cannot be reached.
        await Assert.ThrowsAsync<CallTimeoutException>(() => standby.Router.LookupAsync<long, long>("ledger", 5, timeout: TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_read_with_a_zero_bound_after_a_write_returns_that_write_from_a_standby_node()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");

        for (var i = 1L; i <= 50; i++)
        {
            Assert.Equal(i, await standby.Router.CallAsync<long>("ledger", new Put(1, i)));
            var read = await standby.Router.LookupAsync<long, long>("ledger", 1, maxStaleness: TimeSpan.Zero);
            Assert.Equal([i], read.Values);
            Assert.Equal(TimeSpan.Zero, read.Staleness);
        }
    }

    [Fact]
    public async Task Reads_of_a_standbys_copy_while_writers_commit_return_only_written_values_never_staler_than_their_bound()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");
        // Half the readers state a tight bound (the copy often misses it, and the owner serves), half a loose one.
        TimeSpan[] bounds = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)];
        const int Keys = 4;
        var clock = TimeProvider.System;

        // Per key: the values issued (before they are sent) and, once acknowledged, when.
        var issued = Enumerable.Range(0, Keys).Select(_ => new ConcurrentDictionary<long, bool>()).ToArray();
        var acknowledged = Enumerable.Range(0, Keys).Select(_ => new ConcurrentQueue<(long At, long Value)>()).ToArray();
        var reads = new ConcurrentQueue<(int Key, long Began, TimeSpan Bound, long Value, ReadSource Source, TimeSpan Staleness)>();
        var deadline = clock.GetTimestamp() + (long)(3 * clock.TimestampFrequency);

        var writers = Enumerable.Range(0, Keys).Select(key => Task.Run(async () =>
        {
            for (var value = 1L; value <= 400 && clock.GetTimestamp() < deadline; value++)
            {
                issued[key][value] = true;
                await owner.Router.CallAsync<long>("ledger", new Put(key, value), TimeSpan.FromSeconds(10));
                acknowledged[key].Enqueue((clock.GetTimestamp(), value));
            }
        })).ToArray();
        var readers = Enumerable.Range(0, 6).Select(reader => Task.Run(async () =>
        {
            for (var i = 0; i < 3000 && clock.GetTimestamp() < deadline; i++)
            {
                var key = (reader + i) % Keys;
                var bound = bounds[reader % 2];
                var began = clock.GetTimestamp();
                var read = await standby.Router.LookupAsync<long, long>("ledger", (long)key, bound, TimeSpan.FromSeconds(10));
                reads.Enqueue((key, began, bound, read.Values is [var value] ? value : 0, read.Source, read.Staleness));
                Assert.True(read.Values.Count <= 1, "a set table's key has at most one value");
            }
        })).ToArray();
        await Task.WhenAll(writers.Concat(readers));

        var local = 0;
        foreach (var (key, began, bound, value, source, staleness) in reads)
        {
            Assert.True(value == 0 || issued[key].ContainsKey(value), $"key {key} read {value}, which was never written");
            var newestDue = acknowledged[key].Where(a => clock.GetElapsedTime(a.At, began) >= bound).Select(a => a.Value).DefaultIfEmpty(0).Max();
            Assert.True(value >= newestDue, $"key {key} read {value} from {source}, but {newestDue} was acknowledged more than {bound.TotalMilliseconds} ms before the read began");
            Assert.InRange(staleness, TimeSpan.Zero, bound);
            local += source == ReadSource.LocalStandby ? 1 : 0;
        }

        Assert.True(local > 0, $"none of {reads.Count} reads was served by the standby");
        Assert.True(acknowledged.All(a => a.Count > 10), "the writers committed too little to test against");
    }

    [Fact]
    public async Task A_standby_that_cannot_catch_up_serves_its_copy_only_within_the_bound_and_the_owner_serves_the_rest()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        Assert.Equal(1L, await owner.Router.CallAsync<long>("ledger", new Put(1, 1)));

        // The standby connects as a role of its own, which owns the cluster's schema objects (so it starts as any node
        // does) until its right to read the rows is taken away: then its catch-ups fail while the owner commits on.
        var (group, login) = ($"{schema}_g", $"{schema}_b");
        await ExecuteAsync(server.ConnectionString,
            $"CREATE ROLE {group} NOLOGIN; CREATE ROLE {login} LOGIN IN ROLE {group}; " +
            $"GRANT CREATE ON DATABASE \"{new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString).Database}\" TO {group}; " +
            $"ALTER SCHEMA {schema} OWNER TO {group}; ALTER TABLE {schema}.nodes OWNER TO {group}; ALTER TABLE {schema}.tables OWNER TO {group}; " +
            $"ALTER TABLE {schema}.rows OWNER TO {group}; ALTER FUNCTION {schema}.commit_rows OWNER TO {group}");
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Username = login }.ConnectionString;
        await using var standby = await RoutedNode.StartAsync(connection, schema, "b");
        var loaded = await standby.Router.LookupAsync<long, long>("ledger", 1, TimeSpan.FromMinutes(1));
        Assert.Equal((ReadSource.LocalStandby, 1L), (loaded.Source, loaded.Values.Single()));

        await ExecuteAsync(server.ConnectionString, $"REVOKE SELECT ON {schema}.rows FROM {group}");
        Assert.Equal(2L, await owner.Router.CallAsync<long>("ledger", new Put(1, 2)));
        var acknowledged = TimeProvider.System.GetTimestamp();

        // A loose bound is met by the copy, which is behind: it still holds 1.
        var loose = await standby.Router.LookupAsync<long, long>("ledger", 1, TimeSpan.FromMinutes(1));
        Assert.Equal((ReadSource.LocalStandby, 1L), (loose.Source, loose.Values.Single()));

        // Once the write is older than the bound, the copy (which has not caught up since before it) is too stale.
        var bound = TimeSpan.FromMilliseconds(100);
        while (TimeProvider.System.GetElapsedTime(acknowledged) is var since && since <= bound)
        {
            await Task.Delay(bound - since + TimeSpan.FromMilliseconds(1));
        }

        var tight = await standby.Router.LookupAsync<long, long>("ledger", 1, bound);
        Assert.Equal((ReadSource.RemoteOwner, 2L), (tight.Source, tight.Values.Single()));
        Assert.Equal(2L, (await standby.Router.LookupAsync<long, long>("ledger", 1, TimeSpan.Zero)).Values.Single());
        Assert.Equal(ClusteredTableRole.Standby, (await standby.StatusAsync()).Role);
        Assert.Equal(1, (await standby.StatusAsync()).Applied);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Unknown_tables_other_types_and_a_negative_bound_are_refused_with_typed_exceptions()
    {
        var schema = PostgresServer.NewSchema();
        await using var owner = await RoutedNode.StartAsync(server.ConnectionString, schema, "a");
        await owner.Table.WaitAsync(Patience);
        await using var standby = await RoutedNode.StartAsync(server.ConnectionString, schema, "b");
        await using var caller = await RoutedNode.StartAsync(server.ConnectionString, schema, "c", serves: false);

        Assert.Equal("nope", (await Assert.ThrowsAsync<ClusteredTableNotFoundException>(() => caller.Router.LookupAsync<long, long>("nope", 1))).Table);
        await Assert.ThrowsAsync<ClusteredTableNotFoundException>(() => standby.Router.LookupAsync<long, long>("nope", 1, TimeSpan.FromSeconds(1)));

        var local = await Assert.ThrowsAsync<ClusteredTableTypeException>(() => standby.Router.LookupAsync<string, long>("ledger", "7"));
        var remote = await Assert.ThrowsAsync<ClusteredTableTypeException>(() => caller.Router.LookupAsync<long, string>("ledger", 7));
        Assert.Contains("System.Int64", local.TableTypes);
        Assert.Contains("System.String", local.RequestedTypes);
        Assert.Contains("System.Int64", remote.TableTypes);
        Assert.Contains("System.String", remote.RequestedTypes);
        Assert.Contains("ledger", remote.Message);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => standby.Router.LookupAsync<long, long>("ledger", 1, TimeSpan.FromMilliseconds(-1)));
        await Assert.ThrowsAsync<ArgumentException>(() => standby.Router.LookupAsync<long, long>("", 1));
        await Assert.ThrowsAsync<ArgumentNullException>(() => standby.Router.LookupAsync<string, long>("ledger", null!));
    }
}
