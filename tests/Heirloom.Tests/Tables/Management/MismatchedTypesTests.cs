using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Tables.Management;

/// <summary>A table is never handed to a worker of other key or value types: the worker exits naming both type pairs,
/// the manager keeps the table and says why, and a worker of the right types gets it.</summary>
public sealed class MismatchedTypesTests : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("mismatch");

    public void Dispose() => _temporary.Dispose();

    public sealed record Cart(string Customer, int Items);

    /// <summary>Replies with the number of objects in its table.</summary>
    private sealed class Counter<TValue> : TableWorker<string, TValue>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(Table.Count));
    }

    private static TableManagerOptions Manage(ManagedTable table) =>
        new() { Tables = [table with { FindMeName = "worker" }], InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(20) };

    [Fact]
    public async Task A_worker_of_other_value_types_is_refused_at_hand_off_and_exits_naming_both_type_pairs()
    {
        await using var node = new Node();
        var reports = new ConcurrentQueue<HandOffRefusedReport>();
        node.Reported += (_, report) =>
        {
            if (report is HandOffRefusedReport refused)
            {
                reports.Enqueue(refused);
            }
        };
        var manager = await TableManager.StartAsync(node, Manage(ManagedTable.For<string, Cart>("carts")));

        var wrong = await GenServer.StartAsync(node, () => new Counter<string>(), new GenServerOptions { Name = "worker" });
        var reason = await node.Exited(wrong);

        var mismatch = Assert.IsType<TableTypeMismatchException>(reason.Exception);
        Assert.Equal((typeof(string), typeof(Cart), typeof(string), typeof(string), wrong), (mismatch.TableKeyType, mismatch.TableValueType, mismatch.WorkerKeyType, mismatch.WorkerValueType, mismatch.Worker));
        Assert.Contains("'carts' holds <System.String, Heirloom.Tests.Tables.Management.MismatchedTypesTests+Cart>", mismatch.Message);
        Assert.Contains("is a TableWorker<System.String, System.String>", mismatch.Message);
        var status = Assert.Single(await TableManager.GetStatusAsync(manager));
        Assert.Equal(ManagedTableState.Discovering, status.State);
        Assert.Same(mismatch, status.Failure);
        Assert.Equal(0, status.HandOffs);
        var report = Assert.Single(reports);
        Assert.Equal((manager, "carts", wrong), (report.Pid, report.TableName, report.Worker));

        // A worker of the table's types gets it, and the reason is cleared.
        var right = await GenServer.StartAsync(node, () => new Counter<Cart>(), new GenServerOptions { Name = "worker" });
        Assert.Equal(0L, await GenServer.CallAsync<long>(right, "count", TestKit.Patience));
        status = Assert.Single(await TableManager.GetStatusAsync(manager));
        Assert.Equal((ManagedTableState.HandedOff, right, null), (status.State, status.Owner, status.Failure));
    }

    [Fact]
    public async Task A_worker_given_a_table_of_other_types_directly_exits_at_once_and_the_table_goes_to_its_heir()
    {
        await using var node = new Node();
        var worker = await GenServer.StartAsync(node, () => new Counter<string>());
        var waiting = GenServer.CallAsync<long>(worker, "count").AsTask();
        var table = Table.New<long, long>(node, new TableOptions { Name = "numbers" });

        table.GiveAway(worker, gift: null);

        var mismatch = Assert.IsType<TableTypeMismatchException>((await node.Exited(worker)).Exception);
        Assert.Contains("'numbers' holds <System.Int64, System.Int64>", mismatch.Message);
        await Assert.ThrowsAsync<CallFailedException>(() => waiting);
    }

    [Fact]
    public async Task A_managed_durable_table_whose_directory_holds_other_types_is_refused_with_the_reason_and_the_other_tables_go_on()
    {
        var durability = new DurabilityOptions(_temporary.Path);
        await using (var node = new Node())
        {
            DurableTable.Open<string, long>(node, new TableOptions { Name = "carts" }, durability).Insert("a", 1);
        }

        await using (var node = new Node())
        {
            var reports = new ConcurrentQueue<HandOffRefusedReport>();
            node.Reported += (_, report) =>
            {
                if (report is HandOffRefusedReport refused)
                {
                    reports.Enqueue(refused);
                }
            };
            var options = Manage(ManagedTable.Durable<string, Cart>("carts", durability, valueCodec: new JsonCodec<Cart>("cart"))) with { InitialBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) };
            var manager = await TableManager.StartAsync(node, options with { Tables = [.. options.Tables, ManagedTable.For<string, long>("other") with { FindMeName = "other" }] });

            var statuses = await TableManager.GetStatusAsync(manager);
            var carts = Assert.Single(statuses, s => s.Name == "carts");
            Assert.Equal((ManagedTableState.Failed, Pid.None), (carts.State, carts.Owner));
            var refused = Assert.IsType<TableFileException>(carts.Failure);
            Assert.Equal(TableFileError.WrongCodec, refused.Error);
            Assert.Contains("codecs utf8/i64; it cannot be opened as a Set table with codecs utf8/cart", refused.Message);
            Assert.Equal(("carts", Pid.None), (Assert.Single(reports).TableName, Assert.Single(reports).Worker));
            Assert.Null(node.Tables.WhereIs("carts"));

            // The manager's other table is handed on as usual.
            var other = await GenServer.StartAsync(node, () => new Counter<long>(), new GenServerOptions { Name = "other" });
            Assert.Equal(0L, await GenServer.CallAsync<long>(other, "count", TestKit.Patience));
        }

        // Nothing was written: the directory still opens with its own types.
        await using (var node = new Node())
        {
            Assert.Equal(1L, DurableTable.Open<string, long>(node, new TableOptions { Name = "carts" }, durability).Lookup("a").Single());
        }
    }
}
