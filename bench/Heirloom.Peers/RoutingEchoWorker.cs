using Heirloom.Behaviours;
using Heirloom.Management;

namespace Heirloom.Peers;

/// <summary>The benchmark table's worker: answers every call with its request.</summary>
internal sealed class RoutingEchoWorker : TableWorker<long, long>
{
    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) =>
        ValueTask.FromResult(CallResult.Reply(request));
}
