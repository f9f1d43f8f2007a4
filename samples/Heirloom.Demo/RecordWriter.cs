using Heirloom.Behaviours;
using Heirloom.Tables;

namespace Heirloom.Demo;

/// <summary>
/// The worker: it owns the managed table once the manager hands it over, and keeps writing numbered records into it.
/// The <see cref="TableTransfer"/> is its "ready" event, where it rebuilds what it derives from the table: the next
/// record number. Until then it writes nothing.
/// </summary>
internal sealed class RecordWriter(DemoStats stats) : GenServer
{
    private const int RecordsPerTick = 25;
    private Table<long, string>? _table;
    private long _next;

    protected override ValueTask<InitResult> InitAsync()
    {
        Tick();
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected override ValueTask<ServerResult> HandleCastAsync(object message)
    {
        if (message is "crash")
        {
            throw new InvalidOperationException("chaos: the worker crashed");
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }

    protected override ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        switch (message)
        {
            case TableTransfer { Table: Table<long, string> table }:
                _table = table;
                _next = table.TryLast(out var last) ? last + 1 : 1;
                stats.HandOff();
                break;
            case "tick":
                WriteSome();
                Tick();
                break;
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }

    private void WriteSome()
    {
        if (_table is null)
        {
            return;
        }

        for (var i = 0; i < RecordsPerTick; i++)
        {
            var key = _next++;
            _table.Insert(key, $"record {key} by {Self}");

            // Only now is the record acknowledged: it is in the table.
            stats.Acknowledge(key);
        }
    }

    private void Tick()
    {
        var self = Self;
        _ = Task.Delay(1).ContinueWith(_ => self.Send("tick"), TaskScheduler.Default);
    }
}
