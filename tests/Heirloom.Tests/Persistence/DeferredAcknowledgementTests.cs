using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tests.Persistence.Faults;
using Xunit.Abstractions;

namespace Heirloom.Tests.Persistence;

/// <summary>Writes that return before their fsync and are acknowledged once it is done: many in flight from one writer,
/// none acknowledged and then lost, none acknowledged when its fsync failed.</summary>
public sealed class DeferredAcknowledgementTests(ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("deferred");
    private readonly FaultInjectingFileSystem _files = new();

    public void Dispose() => _temporary.Dispose();

    private DurabilityOptions Options() =>
        new(_temporary.Path) { WritesWaitForFsync = false, SnapshotAfterBytes = 256 << 10, FileSystem = _files };

    [Fact]
    public async Task One_writer_keeps_writes_in_flight_and_each_awaited_one_is_on_disk()
    {
        var acknowledged = 0;
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options());
            var inFlight = new Queue<(long Key, Task Durable)>();
            for (var key = 1L; key <= 20_000; key++)
            {
                table.Insert(key, key * 10);
                inFlight.Enqueue((key, DurableTable.WhenDurableAsync(table).AsTask()));
                if (inFlight.Count == 512)
                {
                    await inFlight.Dequeue().Durable;
                    acknowledged++;
                }
            }

            while (inFlight.TryDequeue(out var write))
            {
                await write.Durable;
                acknowledged++;
            }

            var status = Assert.IsType<DurableTableStatus>(DurableTable.GetStatus(table));
            Assert.Equal(status.LastSequence, status.DurableSequence);
        }

        await using var reopened = new Node();
        var again = DurableTable.Open<long, long>(reopened, new TableOptions { Name = "t" }, Options());
        Assert.Equal(acknowledged, again.Count);
        Assert.True(again.TryGetValue(20_000, out var last));
        Assert.Equal(200_000, last);
    }

    [Fact]
    public async Task A_write_whose_fsync_fails_is_never_acknowledged_and_the_table_closes()
    {
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
        table.Insert(1, 1);
        await DurableTable.WhenDurableAsync(table);

        _files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.IoError, path => path.EndsWith(".log", StringComparison.Ordinal));
        table.Insert(2, 2);
        var error = await Assert.ThrowsAsync<TableException>(async () => await DurableTable.WhenDurableAsync(table));
        Assert.Equal(TableError.StorageFailed, error.Error);
        Assert.True(table.IsDeleted);
        Assert.Equal(TableError.StorageFailed, Assert.Throws<TableException>(() => table.ContainsKey(1)).Error);

        _files.Heal();
        var reopened = DurableTable.Open<long, long>(node, new TableOptions { Name = "t" }, Options());
        Assert.True(reopened.ContainsKey(1));
        Assert.False(reopened.ContainsKey(2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Many_writers_awaiting_durability_while_an_fsync_fails_each_get_an_answer_and_lose_no_acknowledged_write(int round)
    {
        const int Writers = 32, WritesEach = 300;
        var seed = Environment.TickCount ^ round;
        output.WriteLine($"seed {seed}");
        var failAfter = new Random(seed).Next(5, 150);
        var acknowledged = new ConcurrentBag<long>();
        var refused = 0;
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
            _files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.IoError, path => path.EndsWith(".log", StringComparison.Ordinal), callsBeforeFailing: failAfter);
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < WritesEach; i++)
                {
                    var key = ((long)w << 32) | (uint)i;
                    try
                    {
                        table.Insert(key, -key);
                        await DurableTable.WhenDurableAsync(table);
                        acknowledged.Add(key);
                    }
                    catch (TableException e) when (e.Error == TableError.StorageFailed)
                    {
                        Interlocked.Increment(ref refused);
                        return;
                    }
                }
            }));

            await Task.WhenAll(writers).WaitAsync(TestKit.Patience);
            output.WriteLine($"fsync {failAfter} failed; {acknowledged.Count} acknowledged, {refused} writers refused");
            Assert.Equal(Writers, refused);
        }

        _files.Heal();
        await using var reopened = new Node();
        var again = DurableTable.Open<long, long>(reopened, new TableOptions { Name = "t" }, Options());
        Assert.All(acknowledged, key => Assert.True(again.TryGetValue(key, out var value) && value == -key, $"acknowledged key {key} is lost"));
    }

    [Fact]
    public async Task A_writer_that_blocks_on_another_durable_wait_where_the_flush_resumed_it_stalls_no_one()
    {
        const int Writers = 16, WritesEach = 50;
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < WritesEach; i++)
            {
                table.Insert(((long)w << 32) | (uint)i, i);
                if (w == 0 && i > 0)
                {
                    // Blocks the thread that resumed it after the previous write: the flush loop's.
                    DurableTable.WhenDurableAsync(table).AsTask().Wait();
                }
                else
                {
                    await DurableTable.WhenDurableAsync(table);
                }
            }
        }));

        await Task.WhenAll(writers).WaitAsync(TestKit.Patience);
        var status = Assert.IsType<DurableTableStatus>(DurableTable.GetStatus(table));
        Assert.Equal(status.LastSequence, status.DurableSequence);
        Assert.Equal(Writers * WritesEach, table.Count);
    }

    [Fact]
    public async Task A_resumed_writer_that_waits_for_the_other_writers_does_not_hold_them_back()
    {
        const int Writers = 16, WritesEach = 50;
        await using var node = new Node();
        var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
        using var othersDone = new CountdownEvent(Writers - 1);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < WritesEach; i++)
            {
                table.Insert(((long)w << 32) | (uint)i, i);
                await DurableTable.WhenDurableAsync(table);
                if (w == 0 && i == 0)
                {
                    // Blocks whichever thread resumed it until every other writer has finished.
                    othersDone.Wait(TestKit.Patience);
                }
            }

            if (w != 0)
            {
                othersDone.Signal();
            }
        }));

        await Task.WhenAll(writers).WaitAsync(TestKit.Patience);
        Assert.True(othersDone.IsSet, "the other writers were held back by the one that waited for them");
        Assert.Equal(Writers * WritesEach, table.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Deleting_a_table_while_many_writers_await_durability_answers_each_of_them(int round)
    {
        const int Writers = 32;
        var acknowledged = new ConcurrentBag<long>();
        await using (var node = new Node())
        {
            var table = DurableTable.Open<long, long>(node, new TableOptions { Name = "t", Access = TableAccess.Public }, Options());
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    var key = ((long)w << 32) | (uint)i;
                    try
                    {
                        table.Insert(key, key);
                        await DurableTable.WhenDurableAsync(table);
                        acknowledged.Add(key);
                    }
                    catch (TableException)
                    {
                        return;
                    }
                }
            })).ToArray();

            // Deleted once some writes are acknowledged (more each round), not after a fixed time: on a loaded machine
            // a fixed delay could end before the first fsync, and the check below would have nothing to check.
            await TestKit.WaitUntil(() => acknowledged.Count >= 10 * round);
            table.Delete();
            await Task.WhenAll(writers).WaitAsync(TestKit.Patience);
        }

        await using var reopened = new Node();
        var again = DurableTable.Open<long, long>(reopened, new TableOptions { Name = "t" }, Options());
        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, key => Assert.True(again.ContainsKey(key), $"acknowledged key {key} is lost"));
    }

    [Fact]
    public async Task Waiting_for_durability_of_a_table_that_is_not_durable_is_refused()
    {
        await using var node = new Node();
        var table = Table.New<long, long>(node, new TableOptions());
        var error = Assert.Throws<ArgumentException>(() => DurableTable.WhenDurableAsync(table));
        Assert.Contains("not a durable or replicated table", error.Message);
    }

    /// <summary>Each call ("add", key) inserts key and is answered once it is durable.</summary>
    private sealed class Writer : TableWorker<long, long>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            var key = (long)request;
            Table.Insert(key, key);
            return ValueTask.FromResult(ReplyWhenDurable(from, key));
        }
    }

    [Fact]
    public async Task A_worker_answering_when_durable_and_killed_at_random_loses_no_acknowledged_write()
    {
        const int Kills = 50, Acknowledged = 2_000;
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var acknowledged = new ConcurrentBag<long>();
        await using (var node = new Node())
        {
            var table = ManagedTable.Durable<long, long>("records", Options()) with { FindMeName = "writer" };
            await Supervisor.StartAsync(node, new SupervisorOptions
            {
                Strategy = SupervisorStrategy.RestForOne,
                Intensity = 10_000,
                Children =
                [
                    TableManager.ChildSpec(new TableManagerOptions { Tables = [table] }),
                    ChildSpec.ForGenServer("writer", () => new Writer(), new GenServerOptions { Name = "writer" }),
                ],
            });

            Assert.Equal(-1L, await GenServer.CallAsync<long>(node, "writer", -1L, TimeSpan.FromSeconds(5)));
            acknowledged.Add(-1);
            using var stop = new CancellationTokenSource();
            var next = 0L;
            var callers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var key = Interlocked.Increment(ref next);
                    try
                    {
                        acknowledged.Add(await GenServer.CallAsync<long>(node, "writer", key, TimeSpan.FromSeconds(5)));
                    }
                    catch (CallFailedException)
                    {
                        // Not acknowledged: the worker was killed with the write in flight, or is being replaced. A
                        // client retrying a refused write backs off a little.
                        await Task.Delay(1);
                    }
                }
            })).ToArray();

            // Counted in kills and acknowledged writes, not in time, so that a loaded machine still meets enough of both.
            var kills = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (kills < Kills || acknowledged.Count < Acknowledged)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {kills} kills and {acknowledged.Count} acknowledged writes in a minute");
                await Task.Delay(random.Next(5, 40));
                if (node.WhereIs("writer") is { IsNone: false } writer)
                {
                    node.Exit(writer, ExitReason.Kill);
                    kills++;
                }
            }

            await stop.CancelAsync();
            await Task.WhenAll(callers);
            output.WriteLine($"{kills} kills, {acknowledged.Count} acknowledged of {next}");
        }

        await using var reopened = new Node();
        var records = DurableTable.Open<long, long>(reopened, new TableOptions { Name = "records" }, Options());
        Assert.All(acknowledged, key => Assert.True(records.ContainsKey(key), $"acknowledged key {key} is lost"));
    }
}
