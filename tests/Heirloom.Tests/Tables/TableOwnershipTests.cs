using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables;

/// <summary>Ports of ets_SUITE's heir, give_away, setopts, privacy and bad_table cases.</summary>
public sealed class TableOwnershipTests
{
    private sealed record Make(TableOptions Options);

    private sealed record Run(Action<Table<int, string>> Action);

    /// <summary>A process that creates a table on request, then runs actions on it as its owner; exits when told.</summary>
    private static async Task Owner(ProcessContext ctx)
    {
        Table<int, string>? table = null;
        while (true)
        {
            switch (await ctx.ReceiveAsync())
            {
                case (Pid from, Make make):
                    table = Table.New<int, string>(make.Options);
                    from.Send(table);
                    break;
                case (Pid from, Run run):
                    try
                    {
                        run.Action(table!);
                        from.Send("ok");
                    }
                    catch (Exception e)
                    {
                        from.Send(e);
                    }

                    break;
                case TableTransfer transfer:
                    table = (Table<int, string>)transfer.Table;
                    break;
                case ExitReason reason:
                    throw new ProcessExitException(reason);
            }
        }
    }

    private static Task<Table<int, string>> CreateIn(Node node, Pid owner, TableOptions options) =>
        node.Run(async ctx =>
        {
            owner.Send((ctx.Self, new Make(options)));
            return (Table<int, string>)await ctx.ReceiveAsync();
        });

    private static Task<object> RunIn(Node node, Pid owner, Action<Table<int, string>> action) =>
        node.Run(async ctx =>
        {
            owner.Send((ctx.Self, new Run(action)));
            return await ctx.ReceiveAsync();
        });

    [Fact]
    public async Task Owner_death_without_heir_deletes_the_table_and_frees_the_name()
    {
        await using var node = new Node();
        var owner = node.Spawn(Owner);
        var table = await CreateIn(node, owner, new TableOptions { Name = "t" });
        Assert.Same(table, node.Tables.WhereIs<int, string>("t"));
        owner.Send(ExitReason.Custom("bye"));
        await node.Exited(owner);
        Assert.True(table.IsDeleted);
        Assert.Null(node.Tables.WhereIs("t"));
        Assert.Equal(TableError.NoSuchTable, Assert.Throws<TableException>(() => table.Lookup(1)).Error);
        Assert.Null(table.GetInfo());
        Table.New<int, string>(node, new TableOptions { Name = "t" });
    }

    [Fact]
    public async Task The_heir_inherits_before_the_exit_and_down_and_stays_heir()
    {
        await using var node = new Node();
        var owner = node.Spawn(Owner);
        var (order, transfer) = await node.Run(async ctx =>
        {
            ctx.TrapExit = true;
            ctx.Link(owner);
            ctx.Monitor(owner);
            var table = await CreateIn(node, owner, new TableOptions { Name = "inherited", Heir = ctx.Self, HeirData = "gift" });
            await RunIn(node, owner, t => t.Insert(1, "kept"));
            owner.Send(ExitReason.Kill);
            var first = await ctx.ReceiveAsync();
            var second = await ctx.ReceiveAsync();
            var third = await ctx.ReceiveAsync();
            var inherited = (Table<int, string>)((TableTransfer)first).Table;

            // The new owner may write at once; heir == owner now.
            inherited.Insert(2, "mine");
            Assert.Equal(["kept"], inherited.Lookup(1));
            Assert.Equal("inherited", inherited.Name);
            Assert.Equal(ctx.Self, inherited.Owner);
            Assert.Equal(ctx.Self, inherited.Heir);
            return (new[] { first.GetType().Name, second.GetType().Name, third.GetType().Name }, (TableTransfer)first);
        });
        Assert.Equal(["TableTransfer", "ExitSignal", "Down"], order);
        Assert.Equal(owner, transfer.From);
        Assert.Equal("gift", transfer.Gift);

        // The heir was the owner and its own heir: its exit deleted the table.
        Assert.True(transfer.Table.IsDeleted);
    }

    [Fact]
    public async Task A_dead_heir_is_none_and_an_heir_that_dies_first_does_not_inherit()
    {
        await using var node = new Node();
        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);
        var owner = node.Spawn(Owner);
        var table = await CreateIn(node, owner, new TableOptions { Heir = dead });
        Assert.True(table.Heir.IsNone);

        var heir = node.Spawn(TestKit.Idle);
        await RunIn(node, owner, t => t.SetHeir(heir, null));
        Assert.Equal(heir, table.Heir);
        node.Exit(heir, ExitReason.Kill);
        await node.Exited(heir);
        owner.Send(ExitReason.Normal);
        await node.Exited(owner);
        Assert.True(table.IsDeleted);
    }

    [Fact]
    public async Task Heir_equal_to_owner_is_accepted_and_owner_death_deletes()
    {
        await using var node = new Node();
        var owner = node.Spawn(Owner);
        var table = await CreateIn(node, owner, new TableOptions());
        await RunIn(node, owner, t => t.SetHeir(owner, "self"));
        Assert.Equal(owner, table.Heir);
        owner.Send(ExitReason.Normal);
        await node.Exited(owner);
        Assert.True(table.IsDeleted);
    }

    [Fact]
    public async Task Give_away_checks_owner_receiver_and_takes_rights_at_once()
    {
        await using var node = new Node();
        var owner = node.Spawn(Owner);
        var receiver = node.Spawn(Owner);
        var table = await CreateIn(node, owner, new TableOptions { Access = TableAccess.Private });

        // Not the owner, even of a public table: not_owner.
        var notOwner = Assert.Throws<TableException>(() => table.GiveAway(receiver, null));
        Assert.Equal(TableError.NotOwner, notOwner.Error);

        // To itself or to the dead: owner.
        var self = (TableException)await RunIn(node, owner, t => t.GiveAway(owner, null));
        Assert.Equal(TableError.Owner, self.Error);
        var dead = node.Spawn(_ => Task.CompletedTask);
        await node.Exited(dead);
        var toDead = (TableException)await RunIn(node, owner, t => t.GiveAway(dead, null));
        Assert.Equal(TableError.Owner, toDead.Error);

        Assert.Equal("ok", await RunIn(node, owner, t => t.GiveAway(receiver, "present")));
        Assert.Equal(receiver, table.Owner);

        // The old owner lost its rights: a private table is unreadable to it now.
        var lost = (TableException)await RunIn(node, owner, t => t.Lookup(1));
        Assert.Equal(TableError.Access, lost.Error);
        Assert.Equal("ok", await RunIn(node, receiver, t => t.Insert(1, "mine")));
    }

    [Fact]
    public async Task Boomerang_heir_gives_away_and_gets_the_table_back()
    {
        await using var node = new Node();
        var worker = node.Spawn(Owner);
        var back = await node.Run(async ctx =>
        {
            var table = Table.New<int, string>(new TableOptions { Heir = ctx.Self, HeirData = "heir" });
            table.GiveAway(worker, "go");
            worker.Send(ExitReason.Custom("crash"));
            return await ctx.Receive<TableTransfer>();
        });
        Assert.Equal(worker, back.From);
        Assert.Equal("heir", back.Gift);
    }

    [Theory]
    [InlineData(TableAccess.Public, true, true)]
    [InlineData(TableAccess.Protected, true, false)]
    [InlineData(TableAccess.Private, false, false)]
    public async Task Access_is_checked_against_the_calling_process(TableAccess access, bool othersRead, bool othersWrite)
    {
        await using var node = new Node();
        var owner = node.Spawn(Owner);
        var table = await CreateIn(node, owner, new TableOptions { Access = access, Name = $"p{access}" });
        await RunIn(node, owner, t => t.Insert(1, "x"));

        var reads = new Action[] { () => table.Lookup(1), () => table.TryGetValue(1, out _), () => table.ToList(), () => table.Select((_, _) => true, (k, _) => k), () => table.TryFirst(out _), () => table.Fix().Dispose() };
        var writes = new Action[] { () => table.Insert(2, "y"), () => table.Delete(2), () => table.SelectDelete((_, _) => false), () => table.Rename($"r{access}"), () => table.DeleteAllObjects() };
        foreach (var read in reads)
        {
            Check(read, othersRead);
        }

        foreach (var write in writes)
        {
            Check(write, othersWrite);
        }

        // info works from anyone on any table, and heir/give-away are owner-only whatever the access.
        Assert.NotNull(table.GetInfo());
        Assert.Equal(TableError.NotOwner, Assert.Throws<TableException>(() => table.SetHeir(default, null)).Error);
        Assert.Equal(TableError.NotOwner, Assert.Throws<TableException>(() => table.GiveAway(owner, null)).Error);
        Check(table.Delete, othersWrite);

        static void Check(Action action, bool allowed)
        {
            if (allowed)
            {
                action();
            }
            else
            {
                Assert.Equal(TableError.Access, Assert.Throws<TableException>(action).Error);
            }
        }
    }

    [Fact]
    public async Task Names_are_unique_and_rename_keeps_the_table()
    {
        await using var node = new Node();
        var a = Table.New<int, string>(node, new TableOptions { Name = "a" });
        var b = Table.New<int, string>(node, new TableOptions { Name = "b" });
        Assert.Equal(TableError.AlreadyExists, Assert.Throws<TableException>(() => Table.New<int, string>(node, new TableOptions { Name = "a" })).Error);
        Assert.Equal(TableError.AlreadyExists, Assert.Throws<TableException>(() => b.Rename("a")).Error);
        a.Rename("c");
        Assert.Same(a, node.Tables.WhereIs<int, string>("c"));
        Assert.Null(node.Tables.WhereIs("a"));
        Assert.Equal(TableError.TableType, Assert.Throws<TableException>(() => node.Tables.WhereIs<string, string>("c")).Error);
        Assert.Throws<InvalidOperationException>(() => Table.New<int, string>(new TableOptions()));
    }
}
