using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests;

/// <summary>The README's tour, run as written (with Console output captured as results), so it stays true.</summary>
public sealed class ReadmeTourTests
{
    private sealed class Counter : GenServer
    {
        private long _count;

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(request is "next" ? ++_count : _count));
    }

    private sealed class Writer : TableWorker<long, string>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            Table.Insert(Table.Count + 1, (string)request);
            return ValueTask.FromResult(CallResult.Reply(Table.Count));
        }
    }

    [Fact]
    public async Task The_tour_runs_as_written()
    {
        await using var node = new Node();
        var echo = node.Spawn(async ctx =>
        {
            while (true)
            {
                if (await ctx.ReceiveAsync() is (Pid from, string text))
                {
                    from.Send(text.ToUpperInvariant());
                }
            }
        });
        node.Register("echo", echo);
        var hello = await node.Run(async ctx =>
        {
            var (child, monitor) = ctx.SpawnMonitor(_ => throw new InvalidOperationException("boom"));
            var down = (Down)await ctx.ReceiveAsync(m => m is Down);
            Assert.Equal("boom", down.Reason.Exception!.Message);
            node.WhereIs("echo").Send((ctx.Self, "hello"));
            return await ctx.ReceiveAsync(TimeSpan.FromSeconds(1));
        });
        Assert.Equal("HELLO", hello);

        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Strategy = SupervisorStrategy.OneForOne,
            Children = [ChildSpec.ForGenServer("counter", () => new Counter(), new GenServerOptions { Name = "counter" })],
        });
        Assert.Equal(1L, await GenServer.CallAsync<long>(node, "counter", "next"));

        var inheritedAda = new TaskCompletionSource<long>();
        var heir = node.Spawn(async ctx =>
        {
            var transfer = (TableTransfer)await ctx.ReceiveAsync(m => m is TableTransfer);
            var inherited = (Table<string, long>)transfer.Table;
            inheritedAda.SetResult(inherited.Lookup("ada")[0]);
        });
        var high = new TaskCompletionSource<List<(string, long)>>();
        node.Spawn(ctx =>
        {
            var scores = Table.New<string, long>(new TableOptions { Type = TableType.OrderedSet, Name = "scores", Heir = heir });
            scores.Insert("ada", 10);
            scores.UpdateCounter("ada", 5);
            scores.Insert([new("bob", 7), new("cy", 3)]);
            high.SetResult(scores.Select((_, v) => v > 5, (k, v) => (k, v)));
            throw new InvalidOperationException("the owner crashes");
        });
        Assert.Equal([("ada", 15L), ("bob", 7L)], await high.Task.WaitAsync(TestKit.Patience));
        Assert.Equal(15, await inheritedAda.Task.WaitAsync(TestKit.Patience));

        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions
                {
                    Tables = [ManagedTable.For<long, string>("records") with { FindMeName = "writer" }],
                }),
                ChildSpec.ForGenServer("writer", () => new Writer(), new GenServerOptions { Name = "writer" }),
            ],
        });
        var count = await GenServer.CallAsync<long>(node, "writer", "first record");
        Assert.Equal(1, count);
        Assert.Equal("first record", node.Tables.WhereIs<long, string>("records")!.Lookup(1).Single());
    }

    [Fact]
    public async Task The_durable_table_tour_runs_as_written()
    {
        await using var node = new Node();
        var directory = Directory.CreateTempSubdirectory("heirloom-readme-").FullName;
        try
        {
            var durability = new DurabilityOptions(directory) { Fsync = FsyncPolicy.Always };
            var sessions = DurableTable.Open<Guid, string>(node, new TableOptions { Name = "sessions" }, durability);
            sessions.Insert(Guid.NewGuid(), "ada");
            await DurableTable.SnapshotAsync(sessions);
            sessions.Delete();
            var reopened = DurableTable.Open<Guid, string>(node, new TableOptions { Name = "sessions" }, durability);
            Assert.Equal(1, reopened.Count);
            reopened.Delete();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_off_heap_table_tour_runs_as_written()
    {
        await using var node = new Node();
        var directory = Directory.CreateTempSubdirectory("heirloom-readme-").FullName;
        try
        {
            var durability = new DurabilityOptions(Path.Combine(directory, "sessions")) { Fsync = FsyncPolicy.Always };
            var cache = OffHeapTable.New<long, string>(node, new TableOptions { Name = "cache", Access = TableAccess.Public });
            cache.Insert(42, "ada");
            Assert.Equal("ada", cache.Lookup(42)[0]);
            var durableOptions = durability with { Directory = Path.Combine(directory, "cache"), Storage = TableStorage.OffHeap };
            var cached = DurableTable.Open<long, string>(node, new TableOptions { Name = "cached" }, durableOptions);
            cached.Insert(1, "grace");
            cached.Delete();
            Assert.Equal("grace", DurableTable.Open<long, string>(node, new TableOptions { Name = "cached" }, durableOptions).Lookup(1)[0]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
