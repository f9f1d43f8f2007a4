using Heirloom.Behaviours;
using Heirloom.Management;

namespace Heirloom.WebSample;

/// <summary>
/// The only writer of the counters' table (a protected table: it writes, every request thread reads). It is a
/// <see cref="TableWorker{TKey, TValue}"/>, registered under the table's name: it is asked nothing before the table
/// arrives, so a worker restarted after a crash never serves a request without its table.
/// </summary>
public sealed class CounterWorker : TableWorker<string, long>
{
    protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) => request switch
    {
        // Answered once the write is acknowledged by the table's fsync policy (with Always, once it is on disk), while
        // the worker goes on with the next request.
        Increment increment => ValueTask.FromResult(ReplyWhenDurable(from, Add(increment))),
        Read read => ValueTask.FromResult(CallResult.Reply(Table.TryGetValue(read.User, out var count) ? count : 0L)),
        _ => base.HandleTableCallAsync(request, from),
    };

    private long Add(Increment increment)
    {
        var count = (Table.TryGetValue(increment.User, out var current) ? current : 0) + increment.By;
        Table.Insert(increment.User, count);
        return count;
    }

    /// <summary>Adds <paramref name="By"/> to <paramref name="User"/>'s count; the reply is the new count.</summary>
    public sealed record Increment(string User, long By);

    /// <summary>Reads <paramref name="User"/>'s count (0 when it has none): how a replica that does not own the
    /// clustered table reads it, through the owner's worker.</summary>
    public sealed record Read(string User);
}
