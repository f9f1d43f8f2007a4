using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Tables;
using Heirloom.Testing;

namespace Heirloom.Tests.Simulations;

/// <summary>
/// The demo's worker (samples/Heirloom.Demo's RecordWriter) on the node's clock: it owns the managed table once the
/// manager hands it over and, every tick, writes numbered records and acknowledges them once they are durable. The demo
/// paces itself with a real-time Task.Delay, which a simulation cannot run; this one uses a kernel timer. The
/// <see cref="Flaw"/> plants one of the bugs the simulation tests must find.
/// </summary>
internal sealed class SimRecordWriter(SimulatedNode sim, Ledger ledger, WriterFlaw flaw = WriterFlaw.None) : TableWorker<long, string>
{
    public const int RecordsPerTick = 5;
    public static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(100);

    private long _next = 1;
    private int _incarnation;
    private bool _ticking;

    public WriterFlaw Flaw => flaw;

    protected override ValueTask OnTableAsync(Table<long, string> table, object? gift)
    {
        _incarnation++;

        // The next number is derived from the table, rebuilt on every hand-off: the flawed worker keeps its own count
        // instead, which a restarted worker starts again from 1.
        if (flaw != WriterFlaw.DerivedStateOutsideTable)
        {
            _next = table.TryLast(out var last) ? last + 1 : 1;
        }

        // Ticks start with the first table (a worker handles nothing before it); a later hand-off to the same worker
        // keeps the one tick going.
        if (!_ticking)
        {
            _ticking = true;
            Tick();
        }

        return ValueTask.CompletedTask;
    }

    protected override async ValueTask<ServerResult> HandleTableInfoAsync(object message)
    {
        if (message is "tick")
        {
            sim.FaultPoint("writer tick");
            await WriteSomeAsync();
            Tick();
        }

        return ServerResult.Ok;
    }

    private async ValueTask WriteSomeAsync()
    {
        var written = new List<(long Key, string Value)>(RecordsPerTick);
        for (var i = 0; i < RecordsPerTick; i++)
        {
            var key = _next++;
            var value = $"record {key} by {SimulatedNode.TraceName(Self)}";
            if (flaw == WriterFlaw.AcknowledgeBeforeWriting)
            {
                ledger.Acknowledge(key, value);
            }

            Table.Insert(key, value);
            written.Add((key, value));
        }

        // Acknowledged only once in the table and on disk (one fsync for the tick's records).
        if (DurableTable.TryGetStatus(Table, out _))
        {
            await DurableTable.WhenDurableAsync(Table);
        }

        if (flaw != WriterFlaw.AcknowledgeBeforeWriting)
        {
            foreach (var (key, value) in written)
            {
                ledger.Acknowledge(key, value);
            }
        }

        sim.Trace($"acked {written[^1].Key} incarnation {_incarnation}");
    }

    private void Tick() => Context.SendAfter(Self, "tick", TickEvery);
}
