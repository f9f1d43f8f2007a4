using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Tables;

namespace Heirloom.Postgres.Tests;

/// <summary>A worker that writes one key per call and answers once the write is committed; it reports each table it
/// gets.</summary>
internal sealed class LedgerWorker(Action<Table<long, long>>? got = null) : TableWorker<long, long>
{
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
            case "count":
                return ValueTask.FromResult(CallResult.Reply(Table.Count));
            default:
                return base.HandleTableCallAsync(request, from);
        }
    }
}
