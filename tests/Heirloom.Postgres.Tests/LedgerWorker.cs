using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Tables;

namespace Heirloom.Postgres.Tests;

/// <summary>A worker that writes one key per call and answers once the write is committed; it reports each table it
/// gets. A <see cref="Stamp"/> sets a key to the next of a counter that only grows, so that a key's later write always
/// holds the larger value.</summary>
internal sealed class LedgerWorker(Action<Table<long, long>>? got = null) : TableWorker<long, long>
{
    private long _stamps;

    protected override ValueTask OnTableAsync(Table<long, long> table, object? gift)
    {
        got?.Invoke(table);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
    {
        switch (request)
        {
            case long key:
                Table.Insert(key, key);
                return ValueTask.FromResult(ReplyWhenDurable(from, key));
            case Stamp stamp:
                var value = ++_stamps;
                Table.Insert(stamp.Key, value);
                return ValueTask.FromResult(ReplyWhenDurable(from, value));
            case "count":
                return ValueTask.FromResult(CallResult.Reply(Table.Count));
            default:
                return base.HandleTableCallAsync(request, from);
        }
    }
}
