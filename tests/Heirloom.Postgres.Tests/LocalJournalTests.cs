using System.Collections.Concurrent;
using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.ClusterDemo;
using Heirloom.Persistence;
using Heirloom.Processes;

namespace Heirloom.Postgres.Tests;

/// <summary>Clustered tables acknowledging writes once they are in a local journal and shipping them later: writes
/// acknowledged while PostgreSQL is down, shipped when this node gets the table back, and discarded (within the stated
/// bound) when another node owned it in between.</summary>
public sealed class LocalJournalTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-spool-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writes_acknowledged_while_PostgreSQL_is_down_are_shipped_when_the_node_takes_the_table_back_or_lost_within_the_bound(bool anotherOwnerInBetween)
    {
        await using var server = await ThrowawayPostgres.StartAsync();
        var schema = PostgresServer.NewSchema();
        const int bound = 300;
        var journal = new DurabilityOptions(_directory);
        var acknowledged = new ConcurrentBag<long>();
        var whileDown = 0;
        var down = false;

        Task restart;
        await using (var node = await InProcessNode.StartAsync(server.ConnectionString, schema, "a", localJournal: journal, maxUnshippedWrites: bound))
        {
            await node.Table.WaitAsync(Patience);
            var next = 0L;
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        acknowledged.Add(await GenServer.CallAsync<long>(node.Node, "writer", Interlocked.Increment(ref next), TimeSpan.FromSeconds(2)));
                        if (Volatile.Read(ref down))
                        {
                            Interlocked.Increment(ref whileDown);
                        }
                    }
                    catch (Exception e) when (e is CallFailedException or NoProcessException or TimeoutException)
                    {
                        await Task.Delay(5);
                    }
                }
            })).ToList();
            await UntilAsync(() => acknowledged.Count > 500);

            // PostgreSQL goes down; the node acknowledges from its local journal until the bound, or its owner deadline.
            Volatile.Write(ref down, true);
            restart = server.RestartAsync(downtime: TimeSpan.FromSeconds(5));
            await Task.Delay(TimeSpan.FromSeconds(3));
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        // The node stopped while PostgreSQL was down, with acknowledged writes it could not ship.
        await restart;

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
        Assert.True(whileDown > 0, "no write was acknowledged while PostgreSQL was down");
        if (anotherOwnerInBetween)
        {
            Assert.InRange(missing, 1, bound + 8192);                       // the bound, plus one commit in flight
        }
        else
        {
            Assert.Equal(0, missing);
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < Patience, "the condition did not hold in time");
            await Task.Delay(5);
        }
    }
}
