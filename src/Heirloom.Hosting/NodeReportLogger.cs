using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting;

/// <summary>Writes the node's reports to <c>ILogger</c>: one entry per crash, per supervisor event, per storage
/// failure, each with its event ID (see <see cref="HeirloomLog"/>).</summary>
internal sealed class NodeReportLogger(ILogger<NodeReportLogger> logger)
{
    public void Attach(Node node) => node.Reported += OnReported;

    public void Detach(Node node) => node.Reported -= OnReported;

    private void OnReported(object? sender, NodeReport report)
    {
        switch (report)
        {
            case CrashReport crash:
                HeirloomLog.ProcessCrashed(logger, crash.Exception, crash.Pid, crash.RegisteredName ?? "unnamed");
                break;
            case SupervisorReport supervisor:
                LogSupervisor(supervisor);
                break;
            case StorageFailureReport { TableClosed: true } storage:
                HeirloomLog.TableStorageFailed(logger, storage.Exception, storage.TableName, storage.Directory);
                break;
            case StorageFailureReport storage:
                HeirloomLog.SnapshotFailed(logger, storage.Exception, storage.TableName, storage.Directory);
                break;
            case PoisonCallReport poison:
                HeirloomLog.PoisonCall(logger, poison.Exception, poison.Pid, poison.RegisteredName ?? "unnamed", poison.Request);
                break;
            case HandOffRefusedReport refused:
                HeirloomLog.TableHandOffRefused(logger, refused.Exception, refused.Pid, refused.TableName, refused.Worker);
                break;
        }
    }

    private void LogSupervisor(SupervisorReport report)
    {
        var child = report.ChildId ?? "(dynamic)";
        switch (report.Event)
        {
            case SupervisorEvent.ChildTerminated:
                HeirloomLog.ChildTerminated(logger, report.Pid, child, report.Child, report.Reason);
                break;
            case SupervisorEvent.ChildRestarted:
                HeirloomLog.ChildRestarted(logger, report.Pid, child, report.Child, report.Reason);
                break;
            case SupervisorEvent.StartFailed:
                HeirloomLog.ChildStartFailed(logger, report.Pid, child, report.Reason);
                break;
            case SupervisorEvent.MaxIntensityReached:
                HeirloomLog.SupervisorGaveUp(logger, report.Pid, child, report.Reason);
                break;
        }
    }
}
