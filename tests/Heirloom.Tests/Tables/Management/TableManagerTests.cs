using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables.Management;

public sealed class TableManagerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TestKit.Patience;

    /// <summary>The documented worker pattern: the TableTransfer is the ready event; writes arrive as calls and are
    /// acknowledged only once in the table.</summary>
    private sealed class Worker : GenServer
    {
        private Table<long, long>? _table;

        protected internal override ValueTask<InitResult> InitAsync()
        {
            Context.TrapExit = false;
            return ValueTask.FromResult(InitResult.Ok);
        }

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case long key when _table is not null:
                    _table.Insert(key, key);
                    return ValueTask.FromResult(CallResult.Reply(true));
                case long:
                    return ValueTask.FromResult(CallResult.Reply(false)); // not ready: the caller retries
                case "count":
                    return ValueTask.FromResult(CallResult.Reply(_table?.Count ?? -1));
                case GiveTo give when _table is not null:
                    _table.GiveAway(give.Pid, "from the worker");
                    _table = null;
                    return ValueTask.FromResult(CallResult.Reply("given"));
                default:
                    return base.HandleCallAsync(request, from);
            }
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

    private sealed record GiveTo(Pid Pid);

    private static SupervisorOptions Tree(params ManagedTable[] tables) => new()
    {
        Strategy = SupervisorStrategy.OneForOne,
        Intensity = 1_000_000,
        Period = TimeSpan.FromSeconds(1),
        Children =
        [
            TableManager.ChildSpec(new TableManagerOptions { Name = "manager", Tables = tables }),
            ChildSpec.ForGenServer("worker", () => new Worker(), new GenServerOptions { Name = "worker" }),
        ],
    };

    private static ManagedTable Records(string name = "records") =>
        ManagedTable.For<long, long>(name) with { FindMeName = "worker", Gift = "ready" };

    private static Task Write(Node node, long key) => WorkerCalls.WriteUntilAcknowledged(node, key);

    [Fact]
    public async Task Ten_thousand_worker_crashes_lose_no_acknowledged_write()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var node = new Node();
        await Supervisor.StartAsync(node, Tree(Records()));
        long acknowledged = 0;
        for (var crash = 0; crash < 10_000; crash++)
        {
            for (var w = random.Next(1, 4); w > 0; w--)
            {
                await Write(node, ++acknowledged);
            }

            var worker = node.WhereIs("worker");
            if (worker is { IsNone: false } pid)
            {
                node.Exit(pid, random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("crash"));
            }
        }

        await Write(node, ++acknowledged);
        var table = node.Tables.WhereIs<long, long>("records")!;
        Assert.Equal(acknowledged, table.Count);
        for (long k = 1; k <= acknowledged; k++)
        {
            Assert.True(table.ContainsKey(k), $"record {k} lost");
        }
    }

    [Fact]
    public async Task The_worker_receives_the_table_and_gift_and_the_manager_is_heir()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, Tree(Records()));
        await Write(node, 1);
        var manager = node.WhereIs("manager");
        var status = Assert.Single(await TableManager.GetStatusAsync(manager));
        Assert.Equal(ManagedTableState.HandedOff, status.State);
        Assert.Equal(node.WhereIs("worker"), status.Owner);
        Assert.Equal(manager, status.Heir);
        Assert.Equal(1, status.HandOffs);
    }

    [Fact]
    public async Task A_manager_crash_spares_the_worker_and_the_restarted_manager_adopts_the_table()
    {
        await using var node = new Node();
        await Supervisor.StartAsync(node, Tree(Records()));
        await Write(node, 1);
        var worker = node.WhereIs("worker");
        var manager = node.WhereIs("manager");
        node.Exit(manager, ExitReason.Kill);
        await node.Exited(manager);
        await TestKit.WaitUntil(() => node.WhereIs("manager") is { IsNone: false } m && m != manager);
        var newManager = node.WhereIs("manager");
        Assert.True(worker.IsAlive);
        await Write(node, 2);

        var status = Assert.Single(await TableManager.GetStatusAsync(newManager));
        Assert.Equal(newManager, status.Heir);
        Assert.Equal(worker, status.Owner);

        // The next worker crash goes to the new manager, which hands the table on with its data.
        node.Exit(worker, ExitReason.Kill);
        await Write(node, 3);
        Assert.Equal(3, node.Tables.WhereIs<long, long>("records")!.Count);
    }

    [Fact]
    public async Task Manager_and_worker_dying_together_lose_nothing()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, Tree(Records()) with { Strategy = SupervisorStrategy.OneForAll });
        for (long k = 1; k <= 100; k++)
        {
            await Write(node, k);
        }

        for (var round = 0; round < 50; round++)
        {
            var manager = node.WhereIs("manager");
            var worker = node.WhereIs("worker");
            if (round % 2 == 0 && manager is { IsNone: false } m)
            {
                node.Exit(m, ExitReason.Kill);
            }

            if (worker is { IsNone: false } w)
            {
                node.Exit(w, ExitReason.Kill);
            }

            await Write(node, 101 + round);
        }

        Assert.Equal(150, node.Tables.WhereIs<long, long>("records")!.Count);
    }

    [Fact]
    public async Task Find_me_that_throws_returns_junk_or_a_dying_pid_is_retried_with_backoff_until_it_finds_one()
    {
        await using var node = new Node();
        var attempts = 0;
        Pid target = default;
        var spec = ManagedTable.For<long, long>("flaky") with
        {
            FindMe = n =>
            {
                var attempt = Interlocked.Increment(ref attempts);
                return attempt switch
                {
                    1 => throw new InvalidOperationException("find-me blew up"),
                    2 => Pid.None,
                    3 => DyingPid(n),
                    < 8 => Pid.None,
                    _ => target,
                };
            },
        };
        var manager = await TableManager.StartAsync(node, new TableManagerOptions { Tables = [spec], InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(20) });
        var received = new TaskCompletionSource<TableTransfer>();
        target = node.Spawn(async ctx => received.SetResult(await ctx.Receive<TableTransfer>()));
        var transfer = await received.Task.WaitAsync(Patience);
        Assert.Equal(manager, transfer.From);
        var status = Assert.Single(await TableManager.GetStatusAsync(manager));
        Assert.True(Volatile.Read(ref attempts) >= 8, $"{attempts} attempts");

        // Finding nobody (or a dead pid) is waiting for the worker, not a failed hand-off.
        Assert.Equal(0, status.FailedHandOffs);
        Assert.Equal(1, status.HandOffs);
        Assert.True(manager.IsAlive);

        // Alive when looked up, dead before the hand-off: the crash kazoo_etsmgr_srv's give_away meets.
        static Pid DyingPid(Node node)
        {
            var pid = node.Spawn(TestKit.Idle);
            node.Exit(pid, ExitReason.Kill);
            return pid;
        }
    }

    [Fact]
    public async Task A_registered_name_find_me_hands_off_as_soon_as_the_name_appears()
    {
        await using var node = new Node();
        var manager = await TableManager.StartAsync(node, new TableManagerOptions { Tables = [Records()], InitialBackoff = TimeSpan.FromHours(1), MaxBackoff = TimeSpan.FromHours(1) });
        var status = Assert.Single(await TableManager.GetStatusAsync(manager));
        Assert.Equal(ManagedTableState.Discovering, status.State);

        // With an hour of backoff, only the registration itself can trigger the hand-off.
        var received = new TaskCompletionSource<TableTransfer>();
        var worker = node.Spawn(async ctx => received.SetResult(await ctx.Receive<TableTransfer>()));
        node.Register("worker", worker);
        Assert.Equal("ready", (await received.Task.WaitAsync(Patience)).Gift);
    }

    [Fact]
    public async Task Several_tables_stop_and_delete()
    {
        await using var node = new Node();
        var sup = await Supervisor.StartAsync(node, Tree(Records("a"), Records("b")));
        await Write(node, 1);
        var manager = node.WhereIs("manager");
        await TestKit.WaitUntil(() => TableManager.GetStatusAsync(manager).Result.All(s => s.State == ManagedTableState.HandedOff));
        Assert.Equal(2, (await TableManager.GetStatusAsync(manager)).Count);
        await TableManager.AddTableAsync(manager, ManagedTable.For<string, int>("c") with { FindMeName = "nobody" });
        await Assert.ThrowsAsync<ArgumentException>(() => TableManager.AddTableAsync(manager, Records("a")));
        Assert.Equal(3, (await TableManager.GetStatusAsync(manager)).Count);

        Assert.True(await TableManager.DeleteTableAsync(manager, "b"));
        Assert.False(await TableManager.DeleteTableAsync(manager, "b"));
        Assert.Null(node.Tables.WhereIs("b"));

        // Stopping the manager leaves the tables alive, with their worker or the node.
        await Supervisor.TerminateChildAsync(sup, "table_manager");
        Assert.NotNull(node.Tables.WhereIs("a"));
        Assert.NotNull(node.Tables.WhereIs("c"));
    }

    [Fact]
    public async Task A_table_given_away_by_the_worker_or_returned_from_elsewhere_is_never_stranded()
    {
        await using var node = new Node();
        await Supervisor.StartAsync(node, Tree(Records()));
        await Write(node, 1);
        var table = node.Tables.WhereIs<long, long>("records")!;
        var manager = node.WhereIs("manager");

        // The worker hands the table to a bystander, then dies: the manager sees the worker's Down with no transfer.
        var bystanderHas = new TaskCompletionSource();
        var bystander = node.Spawn(async ctx =>
        {
            await ctx.Receive<TableTransfer>();
            bystanderHas.SetResult();
            await TestKit.Idle(ctx);
        });
        var worker = node.WhereIs("worker");
        await GiveAwayFromWorker(node, bystander);
        await bystanderHas.Task.WaitAsync(Patience);
        node.Exit(worker, ExitReason.Kill);
        await node.Exited(worker);
        Assert.Equal(bystander, table.Owner);

        // Now the bystander dies: the table comes back to the manager (its heir) after the worker's Down, and goes
        // on to the restarted worker with its data.
        node.Exit(bystander, ExitReason.Kill);
        await TestKit.WaitUntil(() => table.Owner == node.WhereIs("worker"));
        await Write(node, 2);
        Assert.Equal(2, table.Count);
        Assert.Equal(manager, table.Heir);
    }

    private static async Task GiveAwayFromWorker(Node node, Pid to)
    {
        var table = node.Tables.WhereIs<long, long>("records")!;
        await TestKit.WaitUntil(() => table.Owner == node.WhereIs("worker"));
        Assert.Equal("given", await GenServer.CallAsync(node, "worker", new GiveTo(to)));
    }
}
