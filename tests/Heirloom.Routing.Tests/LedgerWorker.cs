using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Tables;

namespace Heirloom.Routing.Tests;

/// <summary>The clustered table's worker: a long writes that key (answered once committed), <see cref="Put"/> writes a
/// value under a key (likewise), <see cref="Lookup"/> reads one, "count" counts, <see cref="Hold"/> blocks it until its
/// gate opens; a cast long writes the key.</summary>
internal sealed class LedgerWorker(Action<Table<long, long>>? got = null) : TableWorker<long, long>
{
    protected override ValueTask OnTableAsync(Table<long, long> table, object? gift)
    {
        got?.Invoke(table);
        return ValueTask.CompletedTask;
    }

    protected override async ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
    {
        switch (request)
        {
            case long key:
                Table.Insert(key, key);
                return ReplyWhenDurable(from, key);
            case Put put:
                Table.Insert(put.Key, put.Value);
                return ReplyWhenDurable(from, put.Value);
            case Lookup lookup:
                return CallResult.Reply(Table.Lookup(lookup.Key) is [var value] ? value : -1L);
            case "count":
                return CallResult.Reply((long)Table.Count);
            case Hold hold:
                var gate = Gates.Get(hold.Gate);
                gate.Held.TrySetResult();
                await gate.Open.Task;
                return CallResult.Reply("released");
            case AskForUnregistered:
                return CallResult.Reply(new Unregistered(1));
            default:
                return await base.HandleTableCallAsync(request, from);
        }
    }

    protected override ValueTask<ServerResult> HandleTableCastAsync(object message)
    {
        if (message is long key)
        {
            Table.Insert(key, key);
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }
}
