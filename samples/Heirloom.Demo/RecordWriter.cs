using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Tables;

namespace Heirloom.Demo;

/// <summary>
/// The worker: it owns the managed table once the manager hands it over, and keeps writing numbered records into it.
/// As a <see cref="TableWorker{TKey, TValue}"/> it handles nothing before the table arrives; <see cref="OnTableAsync"/>
/// is its "ready" event, where it rebuilds what it derives from the table: the next record number.
/// </summary>
internal sealed class RecordWriter(DemoStats stats) : TableWorker<long, string>
{
    private const int RecordsPerTick = 25;
    private long _next;

    protected override ValueTask<InitResult> InitAsync()
    {
        Tick();
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected override ValueTask OnTableAsync(Table<long, string> table, object? gift)
    {
        _next = table.TryLast(out var last) ? last + 1 : 1;
        stats.HandOff();
        return ValueTask.CompletedTask;
    }

    protected override ValueTask<ServerResult> HandleTableCastAsync(object message) =>
        message is "crash" ? throw new InvalidOperationException("chaos: the worker crashed") : ValueTask.FromResult(ServerResult.Ok);

    protected override async ValueTask<ServerResult> HandleTableInfoAsync(object message)
    {
        if (message is "tick")
        {
            await WriteSomeAsync();
            Tick();
        }

        return ServerResult.Ok;
    }

    private async ValueTask WriteSomeAsync()
    {
        var last = 0L;
        for (var i = 0; i < RecordsPerTick; i++)
        {
            last = _next++;
            Table.Insert(last, $"record {last} by {Self}");
        }

        // Only now are the records acknowledged: they are in the table and, for a durable table, on disk (the records
        // join the journal at once and share one fsync).
        if (DurableTable.TryGetStatus(Table, out _))
        {
            await DurableTable.WhenDurableAsync(Table);
        }

        stats.Acknowledge(last);
    }

    private void Tick()
    {
        var self = Self;
        _ = Task.Delay(1).ContinueWith(_ => self.Send("tick"), TaskScheduler.Default);
    }
}
