using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tests.Persistence.Faults;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables.Management;

public sealed class DurableTableManagerTests(ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("managed");

    public void Dispose() => _temporary.Dispose();

    /// <summary>Acknowledges a write only once it is in the table it owns (and so, fsync Always, on disk).</summary>
    private sealed class Worker : GenServer
    {
        private Table<long, long>? _table;

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            if (request is not long key)
            {
                return base.HandleCallAsync(request, from);
            }

            _table?.Insert(key, key);
            return ValueTask.FromResult(CallResult.Reply(_table is not null));
        }

        protected internal override ValueTask<ServerResult> HandleInfoAsync(object message)
        {
            if (message is TableTransfer { Table: Table<long, long> table })
            {
                _table = table;
            }

            return ValueTask.FromResult(ServerResult.Ok);
        }
    }

    private SupervisorOptions Tree(DurableFileSystem? files = null) => new()
    {
        Intensity = 1_000_000,
        Period = TimeSpan.FromSeconds(1),
        Children =
        [
            TableManager.ChildSpec(new TableManagerOptions
            {
                Name = "manager",
                Tables = [ManagedTable.Durable<long, long>("records", new DurabilityOptions(_temporary.Path) { SnapshotAfterBytes = 16 << 10, FileSystem = files ?? DurableFileSystem.Real }) with { FindMeName = "worker" }],
            }),
            ChildSpec.ForGenServer("worker", () => new Worker(), new GenServerOptions { Name = "worker" }),
        ],
    };

    private static Task Write(Node node, long key) => WorkerCalls.WriteUntilAcknowledged(node, key);

    [Fact]
    public async Task Manager_and_worker_dying_together_and_then_the_whole_node_lose_no_acknowledged_write()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        long acknowledged = 0;
        for (var life = 0; life < 10; life++)
        {
            // Each node is one life of the OS process: its end drops every table from memory.
            await using var node = new Node();
            await Supervisor.StartAsync(node, Tree());
            for (var round = 0; round < 20; round++)
            {
                for (var w = random.Next(1, 30); w > 0; w--)
                {
                    await Write(node, ++acknowledged);
                }

                foreach (var name in random.Next(3) switch { 0 => ["worker"], 1 => ["manager"], _ => new[] { "manager", "worker" } })
                {
                    if (node.WhereIs(name) is { IsNone: false } pid)
                    {
                        node.Exit(pid, ExitReason.Kill);
                    }
                }
            }

            await Write(node, ++acknowledged);
            var table = node.Tables.WhereIs<long, long>("records")!;
            Assert.Equal(acknowledged, table.Count);
        }

        await using var last = new Node();
        await Supervisor.StartAsync(last, Tree());
        await Write(last, ++acknowledged);
        var restored = last.Tables.WhereIs<long, long>("records")!;
        Assert.Equal(acknowledged, restored.Count);
        for (long k = 1; k <= acknowledged; k++)
        {
            Assert.True(restored.ContainsKey(k), $"record {k} lost");
        }

        output.WriteLine($"{acknowledged} records, {Directory.GetFiles(_temporary.Path, "snapshot-*").Length} snapshots kept");
    }

    [Fact]
    public async Task A_manager_that_cannot_open_the_durable_table_fails_to_start_and_loses_nothing()
    {
        await using var node = new Node();
        await Supervisor.StartAsync(node, Tree());
        await Write(node, 1);

        // Another node in the same OS process holding the directory stands for another OS process using it.
        await using var other = new Node();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Supervisor.StartAsync(other, Tree()));
        Assert.Contains("in use by another open durable table", error.ToString());
        Assert.Null(other.Tables.WhereIs("records"));
        Assert.Equal(1, node.Tables.WhereIs<long, long>("records")!.Count);
    }

    [Fact]
    public async Task A_disk_full_episode_ends_without_a_restart_the_manager_reopens_the_table_and_hands_it_back()
    {
        var files = new FaultInjectingFileSystem();
        await using var node = new Node();
        await Supervisor.StartAsync(node, Tree(files));
        for (long k = 1; k <= 50; k++)
        {
            await Write(node, k);
        }

        // The disk fills: the worker's next write fails and closes the table; the manager cannot reopen it yet.
        files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.NoSpace, path => path.EndsWith(".log", StringComparison.Ordinal));
        var failedWrite = await Assert.ThrowsAsync<CallFailedException>(async () => await GenServer.CallAsync(node, "worker", 51L));
        Assert.Contains("was closed because syncing its journal", failedWrite.ToString());
        var failed = await StatusWhen(node, s => s.State == ManagedTableState.Failed && s.Failure is IOException);
        Assert.Contains("No space left on device", failed.Failure!.Message);
        Assert.Null(node.Tables.WhereIs("records"));

        // Space is back: the manager opens the table from disk and hands it to the (restarted) worker.
        files.Heal();
        for (long k = 51; k <= 60; k++)
        {
            await Write(node, k);
        }

        var recovered = await StatusWhen(node, s => s.State == ManagedTableState.HandedOff);
        Assert.Equal(1, recovered.Reopens);
        Assert.Null(recovered.Failure);
        var table = node.Tables.WhereIs<long, long>("records")!;
        Assert.Equal(Enumerable.Range(1, 60).Select(k => (long)k), table.ToList().Select(p => p.Key).Order());
    }

    /// <summary>Asks the manager for its table's status until it satisfies <paramref name="condition"/> (at most ten seconds).</summary>
    private static async Task<ManagedTableStatus> StatusWhen(Node node, Func<ManagedTableStatus, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var status = (await TableManager.GetStatusAsync(node.WhereIs("manager"))).Single();
            if (condition(status))
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the manager's status stayed {status}");
            await Task.Delay(10);
        }
    }
}
