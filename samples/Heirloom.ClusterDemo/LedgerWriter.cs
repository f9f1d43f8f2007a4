using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Tables;

namespace Heirloom.ClusterDemo;

/// <summary>The worker that owns the clustered table on the owning node: each call writes one key and is answered
/// once PostgreSQL has committed it. It does not know the table is clustered: it gets it as any managed table.</summary>
internal sealed class LedgerWriter(NodeOutput output) : TableWorker<long, long>
{
    protected override ValueTask OnTableAsync(Table<long, long> table, object? gift)
    {
        output.Owner(table.Count);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
    {
        var key = (long)request;
        Table.Insert(key, key);
        return ValueTask.FromResult(ReplyWhenDurable(from, key));
    }
}
