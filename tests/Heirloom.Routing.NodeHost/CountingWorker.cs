using Heirloom.Behaviours;
using Heirloom.Management;

namespace Heirloom.Routing.NodeHost;

/// <summary>The "ledger" table's worker: a long writes that key (replied once PostgreSQL committed it), anything else
/// is answered with itself (an echo, for round-trip measurements).</summary>
public sealed class CountingWorker : TableWorker<long, long>
{
    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
    {
        if (request is long key)
        {
            Table.Insert(key, key);
            return ValueTask.FromResult(ReplyWhenDurable(from, key));
        }

        return ValueTask.FromResult(CallResult.Reply(request));
    }
}
