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
    public async Task A_managed_durable_table_opened_with_other_types_than_its_directory_holds_is_refused_naming_both_codec_pairs()
    {
        var durability = new DurabilityOptions(_temporary.Path);
        await using (var node = new Node())
        {
            DurableTable.Open<string, long>(node, new TableOptions { Name = "carts" }, durability).Insert("a", 1);
        }

        await using (var node = new Node())
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => TableManager.StartAsync(node, Manage(ManagedTable.Durable<string, Cart>("carts", durability, valueCodec: new JsonCodec<Cart>("cart")))));
            Assert.Contains("codecs utf8/i64; it cannot be opened as a Set table with codecs utf8/cart", error.ToString());
            Assert.Empty(TableManager.Running(node));
        }
    }
}
