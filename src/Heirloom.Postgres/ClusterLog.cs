using Microsoft.Extensions.Logging;

namespace Heirloom.Postgres;

/// <summary>What a clustered node logs, with stable event IDs.</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 2001, EventName = "TableTakenOver", Level = LogLevel.Information, Message = "Node {NodeId} owns clustered table {Table} at epoch {Epoch} ({Rows} keys, caught up to sequence {Sequence})")]
    public static partial void TookOver(ILogger logger, string nodeId, string table, long epoch, long rows, long sequence);

    [LoggerMessage(EventId = 2002, EventName = "TableFenced", Level = LogLevel.Warning, Message = "Node {NodeId} no longer owns clustered table {Table} (epoch {Epoch})")]
    public static partial void Fenced(ILogger logger, string nodeId, string table, long epoch, Exception reason);

    [LoggerMessage(EventId = 2003, EventName = "ListenerLost", Level = LogLevel.Warning, Message = "Node {NodeId} lost its notification connection to PostgreSQL; reconnecting")]
    public static partial void ListenerLost(ILogger logger, string nodeId, Exception reason);

    [LoggerMessage(EventId = 2004, EventName = "StandbyFailed", Level = LogLevel.Warning, Message = "Node {NodeId} could not follow clustered table {Table}; retrying")]
    public static partial void StandbyFailed(ILogger logger, string nodeId, string table, Exception reason);

    [LoggerMessage(EventId = 2005, EventName = "AcquireFailed", Level = LogLevel.Warning, Message = "Node {NodeId} could not wait for clustered table {Table}'s ownership; retrying")]
    public static partial void AcquireFailed(ILogger logger, string nodeId, string table, Exception reason);

    [LoggerMessage(EventId = 2006, EventName = "LeftoversShipped", Level = LogLevel.Information, Message = "Node {NodeId} shipped {Writes} writes of clustered table {Table} left in its local journal by its previous run")]
    public static partial void LeftoversShipped(ILogger logger, string nodeId, string table, int writes);

    [LoggerMessage(EventId = 2007, EventName = "LeftoversDiscarded", Level = LogLevel.Error, Message = "Node {NodeId} discarded {Writes} acknowledged writes of clustered table {Table} left in its local journal at epoch {SpoolEpoch}: another node owned the table since (now epoch {Epoch})")]
    public static partial void LeftoversDiscarded(ILogger logger, string nodeId, string table, int writes, long spoolEpoch, long epoch);

    [LoggerMessage(EventId = 2008, EventName = "TableUpgraded", Level = LogLevel.Information, Message = "Node {NodeId} took clustered table {Table} at codec {From} and rewrote its {Rows} keys at {To}")]
    public static partial void TableUpgraded(ILogger logger, string nodeId, string table, string from, string to, int rows);

    [LoggerMessage(EventId = 2009, EventName = "TableRefused", Level = LogLevel.Error, Message = "Node {NodeId} does not take clustered table {Table}: it cannot read the table's rows; waiting")]
    public static partial void TableRefused(ILogger logger, string nodeId, string table, Exception reason);

    [LoggerMessage(EventId = 2010, EventName = "LockSessionFailed", Level = LogLevel.Warning, Message = "Node {NodeId} lost (or could not open) the PostgreSQL session holding its clustered tables' locks; every table it owned is lost, and it opens a new one")]
    public static partial void LockSessionFailed(ILogger logger, string nodeId, Exception reason);

    [LoggerMessage(EventId = 2011, EventName = "TableHandedOff", Level = LogLevel.Information, Message = "Node {NodeId} handed off clustered table {Table} (epoch {Epoch}) to {Successor} after its last commit (commits finished in {SealMs} ms, table withdrawn in {WithdrawMs} ms, lock released in {ReleaseMs} ms)")]
    public static partial void HandedOff(ILogger logger, string nodeId, string table, long epoch, string successor, double sealMs, double withdrawMs, double releaseMs);

    [LoggerMessage(EventId = 2014, EventName = "TableHandingOff", Level = LogLevel.Debug, Message = "Node {NodeId} stops taking writes to clustered table {Table} (epoch {Epoch}) to hand it to {Successor}")]
    public static partial void HandingOff(ILogger logger, string nodeId, string table, long epoch, string successor);

    [LoggerMessage(EventId = 2012, EventName = "BalanceFailed", Level = LogLevel.Warning, Message = "Node {NodeId} could not read the cluster's membership to balance its tables; retrying")]
    public static partial void BalanceFailed(ILogger logger, string nodeId, Exception reason);

    [LoggerMessage(EventId = 2013, EventName = "Rebalancing", Level = LogLevel.Information, Message = "Node {NodeId} owns {Owned} of {Tables} clustered tables, its share is {Share}: handing off {Moving}")]
    public static partial void Rebalancing(ILogger logger, string nodeId, int owned, int tables, int share, int moving);

    [LoggerMessage(EventId = 2015, EventName = "HandingOffWaitFailed", Level = LogLevel.Warning, Message = "Node {NodeId}'s wait before handing off clustered table {Table} failed; the hand-off goes on")]
    public static partial void HandingOffWaitFailed(ILogger logger, string nodeId, string table, Exception reason);
}
