using System.Collections.Concurrent;
using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.ClusterDemo;
using Heirloom.Persistence;
using Heirloom.Postgres.Testing;
using Heirloom.Processes;

namespace Heirloom.Postgres.Tests;

/// <summary>Clustered tables acknowledging writes once they are in a local journal and shipping them later: writes
/// acknowledged while shipping is stalled and then lost with PostgreSQL, shipped when this node gets the table back,
/// and discarded (within the stated bound) when another node owned it in between.</summary>
public sealed class LocalJournalTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-spool-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writes_acknowledged_but_not_shipped_when_PostgreSQL_crashes_are_shipped_when_the_node_takes_the_table_back_or_lost_within_the_bound(bool anotherOwnerInBetween)
    {
        await using var server = await ThrowawayPostgres.StartAsync();
        var schema = PostgresServer.NewSchema();
        const int bound = 300;
        var journal = new DurabilityOptions(_directory);
        var acknowledged = new ConcurrentBag<long>();
        var whileStalled = 0;
        var stalled = false;

        await using (var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a", localJournal: journal, maxUnshippedWrites: bound))
        {
            await node.Table.WaitAsync(Patience);
            var next = 0L;
            using (var warmUp = new CancellationTokenSource())
            {
                var writers = StartWriters(node, warmUp.Token);
                await UntilAsync(() => acknowledged.Count > 500);
                await warmUp.CancelAsync();
                await Task.WhenAll(writers);
            }

            // Writers outpace shipping, so the unshipped writes sit at the bound while they run: let shipping catch up
            // first, so that there is room to acknowledge from the local journal.
            await UntilAsync(async () => (await LedgerCheck.CommittedKeysAsync(server.ConnectionString, schema)).IsSupersetOf(acknowledged));

            // Shipping stalls (another session holds the table's row, which every commit locks); the node goes on
            // acknowledging from its local journal up to the bound, well within its owner deadline; then PostgreSQL
            // crashes, and the node, its session gone, stops with those writes unshipped.
            await using var blockerSource = Npgsql.NpgsqlDataSource.Create(server.ConnectionString);
            await using (var blocker = await blockerSource.OpenConnectionAsync())
            {
                await using var hold = await blocker.BeginTransactionAsync();
                await using var locking = new Npgsql.NpgsqlCommand($"SELECT 1 FROM {schema}.tables FOR UPDATE", blocker, hold);
                await locking.ExecuteNonQueryAsync();
                Volatile.Write(ref stalled, true);
                using var stop = new CancellationTokenSource();
                var writers = StartWriters(node, stop.Token);
                await Task.Delay(TimeSpan.FromMilliseconds(700));
                await server.CrashAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }

            List<Task> StartWriters(InProcessNode node, CancellationToken stop) => [.. Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        acknowledged.Add(await GenServer.CallAsync<long>(node.Node, "writer", Interlocked.Increment(ref next), TimeSpan.FromSeconds(2)));
                        if (Volatile.Read(ref stalled))
                        {
                            Interlocked.Increment(ref whileStalled);
                        }
                    }
                    catch (Exception e) when (e is CallFailedException or NoProcessException)
                    {
                        await Task.Delay(5);
                    }
                }
            }))];
        }

        // The node stopped while PostgreSQL was down, with acknowledged writes it could not ship; the server comes back
        // only now, so none of them can have been shipped by the old node.
        await server.StartAgainAsync();

        if (anotherOwnerInBetween)
        {
            await using var source = Npgsql.NpgsqlDataSource.Create(server.ConnectionString);
            await using var bump = source.CreateCommand($"UPDATE {schema}.tables SET epoch = epoch + 1");
            await bump.ExecuteNonQueryAsync();
        }

        await using (var again = await InProcessNode.StartAsync(server.ConnectionString, schema, "a", localJournal: journal, maxUnshippedWrites: bound))
        {
            await again.Table.WaitAsync(Patience);
        }

        var committed = await LedgerCheck.CommittedKeysAsync(server.ConnectionString, schema);
        var missing = acknowledged.Count(k => !committed.Contains(k));
        Assert.True(whileStalled > 0, "no write was acknowledged while shipping was stalled");
        if (anotherOwnerInBetween)
        {
            Assert.InRange(missing, 1, bound + 8192);                       // the bound, plus one commit in flight
        }
        else
        {
            Assert.Equal(0, missing);
        }
    }

    private static Task UntilAsync(Func<bool> condition) => UntilAsync(() => Task.FromResult(condition()));

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(5);
        }
    }
}
