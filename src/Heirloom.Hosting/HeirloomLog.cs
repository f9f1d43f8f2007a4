using Heirloom.Processes;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting;

/// <summary>Every log entry Heirloom writes, with stable event IDs (1000-1099) so alerts can match on them. A process
/// is named as <see cref="ProcessLabels"/> describes it.</summary>
internal static partial class HeirloomLog
{
    [LoggerMessage(EventId = 1001, EventName = "ProcessCrashed", Level = LogLevel.Error, Message = "Process {Process} crashed")]
    public static partial void ProcessCrashed(ILogger logger, Exception exception, string process);

    [LoggerMessage(EventId = 1002, EventName = "ChildTerminated", Level = LogLevel.Warning, Message = "Supervisor {Supervisor}: child {ChildId} ({Child}) terminated with reason {Reason}")]
    public static partial void ChildTerminated(ILogger logger, string supervisor, string childId, Pid child, ExitReason reason);

    [LoggerMessage(EventId = 1003, EventName = "ChildRestarted", Level = LogLevel.Information, Message = "Supervisor {Supervisor}: child {ChildId} restarted as {Child} after {Reason}")]
    public static partial void ChildRestarted(ILogger logger, string supervisor, string childId, Pid child, ExitReason reason);

    [LoggerMessage(EventId = 1004, EventName = "ChildStartFailed", Level = LogLevel.Error, Message = "Supervisor {Supervisor}: child {ChildId} failed to start: {Reason}")]
    public static partial void ChildStartFailed(ILogger logger, string supervisor, string childId, ExitReason reason);

    [LoggerMessage(EventId = 1005, EventName = "SupervisorGaveUp", Level = LogLevel.Critical, Message =
        "Supervisor {Supervisor} gave up: child {ChildId} exited with {Reason}, one restart more than its limit of {Intensity} " +
        "restarts in {Period} (SupervisorOptions.Intensity and SupervisorOptions.Period); it stops its children and exits. " +
        "If exits this frequent are expected, raise that supervisor's Intensity; otherwise the reason above is the fault to fix")]
    public static partial void SupervisorGaveUp(ILogger logger, string supervisor, string childId, ExitReason reason, int intensity, string period);

    [LoggerMessage(EventId = 1006, EventName = "TableStorageFailed", Level = LogLevel.Critical, Message = "Durable table {TableName} in {Directory} failed and was closed")]
    public static partial void TableStorageFailed(ILogger logger, Exception exception, string? tableName, string directory);

    [LoggerMessage(EventId = 1007, EventName = "SnapshotFailed", Level = LogLevel.Warning, Message = "Durable table {TableName} in {Directory}: a snapshot or compaction failed; the table goes on with its journal")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception, string? tableName, string directory);

    [LoggerMessage(EventId = 1008, EventName = "TableHandOffRefused", Level = LogLevel.Error, Message = "Table manager {Manager}: managed table {TableName} was not handed on (worker {Worker})")]
    public static partial void TableHandOffRefused(ILogger logger, Exception exception, string manager, string tableName, string worker);

    [LoggerMessage(EventId = 1010, EventName = "RootSupervisorGaveUp", Level = LogLevel.Critical, Message = "The {Tree} exited with {Reason}; {Consequence}")]
    public static partial void RootSupervisorGaveUp(ILogger logger, string tree, ExitReason reason, string consequence);

    [LoggerMessage(EventId = 1011, EventName = "NodeStarted", Level = LogLevel.Information, Message = "Heirloom node {Node} started {Trees} supervision trees")]
    public static partial void NodeStarted(ILogger logger, int node, int trees);

    [LoggerMessage(EventId = 1012, EventName = "NodeStopped", Level = LogLevel.Information, Message = "Heirloom node {Node} stopped")]
    public static partial void NodeStopped(ILogger logger, int node);

    [LoggerMessage(EventId = 1013, EventName = "NodeStopOverdue", Level = LogLevel.Warning, Message =
        "Heirloom node {Node} did not stop within Heirloom:ShutdownTimeout ({Timeout}); {Left} processes were killed (a child " +
        "whose TerminateAsync takes longer than its ChildSpec.Shutdown allows, or that never returns, keeps its tree waiting)")]
    public static partial void NodeStopOverdue(ILogger logger, int node, string timeout, int left);

    [LoggerMessage(EventId = 1014, EventName = "NodeServicesStopOverdue", Level = LogLevel.Warning, Message =
        "Heirloom node {Node}: its node services were not disposed within Heirloom:ShutdownTimeout; the node stops without waiting for them")]
    public static partial void NodeServicesStopOverdue(ILogger logger, int node);

    [LoggerMessage(EventId = 1015, EventName = "NodeServiceStopFailed", Level = LogLevel.Error, Message = "Heirloom node {Node}: a node service failed while being disposed")]
    public static partial void NodeServiceStopFailed(ILogger logger, int node, Exception exception);
}
