using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Npgsql;

namespace Heirloom.Postgres.Tests;

/// <summary>Commits of one table in flight at once: the commit function makes them visible in the order of their
/// sequences, never writes a key's row over a later sequence, changes nothing when made again, and a takeover's epoch
/// bump waits for the commit that reached the table's row before it and refuses every later one; an owner pipelining
/// commits, fenced at random moments under writes to shared keys, loses no acknowledged write and lands none after the
/// takeover.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OverlappingCommitsTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Commits_are_made_in_the_order_of_their_sequences_and_one_made_again_changes_nothing()
    {
        var (schema, epoch) = await UnownedTableAsync();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);

        // Sequence 3 before 2 was committed: refused, nothing written.
        var early = await Assert.ThrowsAsync<PostgresException>(() => CommitAsync(source, schema, epoch, 3, 0xA3, 1));
        Assert.Equal(ClusterSchema.OutOfOrderState, early.SqlState);
        Assert.Equal(0L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE key = '\\xa3'"));

        // Commit 2 open in a transaction, commit 3 sent meanwhile: 3 waits for 2, and is made once 2 is.
        await using var open = await source.OpenConnectionAsync();
        await using var transaction = await open.BeginTransactionAsync();
        await CommitAsync(open, schema, epoch, 2, 0xA2, 1);
        var behind = CommitAsync(source, schema, epoch, 3, 0xA3, 1);
        await WaitingLocksAsync(1);
        Assert.False(behind.IsCompleted);
        Assert.Equal(1L, await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables"));
        await transaction.CommitAsync();
        await behind.WaitAsync(Patience);
        Assert.Equal(3L, await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables"));

        // Key A2 written again at 4; then commit 2 made again (a retry after a lost connection): nothing changes.
        await CommitAsync(source, schema, epoch, 4, 0xA2, 4);
        await CommitAsync(source, schema, epoch, 2, 0xA2, 1);
        Assert.Equal(4L, await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables"));
        Assert.Equal(4L, await server.ScalarAsync<long>($"SELECT sequence FROM {schema}.rows WHERE key = '\\xa2'"));
        Assert.Equal([4], await server.ScalarAsync<byte[]>($"SELECT state FROM {schema}.rows WHERE key = '\\xa2'"));
    }

    [Fact]
    public async Task A_takeover_waits_for_the_commit_in_flight_and_nothing_of_the_old_epoch_lands_after_it()
    {
        var (schema, epoch) = await UnownedTableAsync();
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        await using var open = await source.OpenConnectionAsync();
        await using var transaction = await open.BeginTransactionAsync();
        await CommitAsync(open, schema, epoch, 2, 0xB2, 1);          // at its end: holds the table's row
        var behind = CommitAsync(source, schema, epoch, 3, 0xB3, 1);  // waits for it
        await WaitingLocksAsync(1);
        var bump = server.ScalarAsync<long>($"UPDATE {schema}.tables SET epoch = epoch + 1 RETURNING last_sequence");
        await WaitingLocksAsync(2);
        Assert.False(bump.IsCompleted);

        await transaction.CommitAsync();

        // Commit 2 landed before the bump; commit 3 either landed before it too (it took the table's row first) or
        // was refused: the last sequence the takeover saw is exactly what is committed, and nothing came after.
        var seen = await bump.WaitAsync(Patience);
        var landed = await Task.WhenAny(behind).WaitAsync(Patience) is { IsCompletedSuccessfully: true };
        if (!landed)
        {
            Assert.Equal(ClusterSchema.FencedState, Assert.IsType<PostgresException>(behind.Exception!.InnerException).SqlState);
        }

        Assert.Equal(landed ? 3L : 2L, seen);
        Assert.Equal(seen, await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables"));
        Assert.Equal(1L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE key = '\\xb2'"));
        Assert.Equal(landed ? 1L : 0L, await server.ScalarAsync<long>($"SELECT count(*) FROM {schema}.rows WHERE key = '\\xb3'"));
        await Assert.ThrowsAsync<PostgresException>(() => CommitAsync(source, schema, epoch, seen + 1, 0xB4, 1));
        Assert.Equal(seen, await server.ScalarAsync<long>($"SELECT last_sequence FROM {schema}.tables"));
    }

    [Fact]
    public async Task An_owner_pipelining_commits_fenced_at_random_moments_loses_no_acknowledged_write_and_lands_none_after_the_takeover()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var schema = PostgresServer.NewSchema();
        await using var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a", maxCommitsInFlight: 4);
        await node.Table.WaitAsync(Patience);

        // Each key's later write holds a larger stamp; a key's committed stamp never falls below one acknowledged.
        var acknowledged = new ConcurrentDictionary<long, long>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            var keys = new Random(seed + i);
            while (!stop.IsCancellationRequested)
            {
                var key = keys.NextInt64(1, 48);
                try
                {
                    var stamp = await GenServer.CallAsync<long>(node.Node, "writer", new Stamp(key), TimeSpan.FromSeconds(5));
                    acknowledged.AddOrUpdate(key, stamp, (_, old) => Math.Max(old, stamp));
                }
                catch (CallFailedException)
                {
                    // Not acknowledged: the table was withdrawn under it, or the worker waits for it.
                }
            }
        })).ToList();

        for (var round = 0; round < 8; round++)
        {
            var status = await node.StatusAsync();
            await Task.Delay(random.Next(5, 120));
            var before = acknowledged.Values.Sum();

            // Another node's takeover, as PostgreSQL sees it, while commits are in flight.
            var last = await server.ScalarAsync<long>($"UPDATE {schema}.tables SET epoch = epoch + 1 RETURNING last_sequence");
            await WaitUntilAsync(async () => (await node.StatusAsync()) is { Role: ClusteredTableRole.Owner } s && s.Epoch == status.Epoch + 2);

            // Taken again at the next epoch, from exactly what was committed when the epoch moved: no commit of the
            // fenced epoch landed after it.
            Assert.True((await node.StatusAsync()).Applied == last, $"a commit landed after the takeover (seed {seed}, round {round})");
            await WaitUntilAsync(() => Task.FromResult(acknowledged.Values.Sum() > before));
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        var committed = new Dictionary<long, long>();
        await using (var source = NpgsqlDataSource.Create(server.ConnectionString))
        {
            await using var rows = source.CreateCommand($"SELECT key, state FROM {schema}.rows WHERE state IS NOT NULL");
            await using var reader = await rows.ExecuteReaderAsync();
            var codec = Persistence.Codecs.For<long>();
            while (await reader.ReadAsync())
            {
                committed[codec.Read(reader.GetFieldValue<byte[]>(0))] = codec.Read(reader.GetFieldValue<byte[]>(1).AsSpan(4));
            }
        }

        Assert.True((await node.StatusAsync()).Commits > 0);
        Assert.All(acknowledged, pair => Assert.True(committed.TryGetValue(pair.Key, out var stamp) && stamp >= pair.Value,
            $"key {pair.Key}: acknowledged {pair.Value}, committed {(committed.TryGetValue(pair.Key, out var c) ? c : "none")} (seed {seed})"));
    }

    /// <summary>A table recorded by a node that owned it, wrote one key (sequence 1) and left: nobody commits to it
    /// but the test.</summary>
    private async Task<(string Schema, long Epoch)> UnownedTableAsync()
    {
        var schema = PostgresServer.NewSchema();
        await using (var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a"))
        {
            await node.Table.WaitAsync(Patience);
            await GenServer.CallAsync<long>(node.Node, "writer", 1L);
        }

        return (schema, await server.ScalarAsync<long>($"SELECT epoch FROM {schema}.tables"));
    }

    private static async Task CommitAsync(NpgsqlDataSource source, string schema, long epoch, long sequence, byte key, byte state)
    {
        await using var connection = await source.OpenConnectionAsync();
        await CommitAsync(connection, schema, epoch, sequence, key, state);
    }

    private static async Task CommitAsync(NpgsqlConnection connection, string schema, long epoch, long sequence, byte key, byte state)
    {
        await using var command = new NpgsqlCommand($"SELECT {schema}.commit_rows('ledger', $1, $2, $2, 0, ARRAY[$3], ARRAY[$4], ARRAY[$2])", connection);
        command.Parameters.Add(new() { Value = epoch });
        command.Parameters.Add(new() { Value = sequence });
        command.Parameters.Add(new() { Value = new[] { key } });
        command.Parameters.Add(new() { Value = new[] { state } });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Until PostgreSQL shows <paramref name="count"/> backends waiting for a lock.</summary>
    private Task WaitingLocksAsync(int count) => WaitUntilAsync(async () =>
        await server.ScalarAsync<long>("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted") >= count);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }
}
