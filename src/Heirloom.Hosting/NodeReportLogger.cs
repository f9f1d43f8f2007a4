using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting;

/// <summary>
/// Writes the node's reports to <c>ILogger</c>: one entry per crash, per supervisor event, per storage failure, each
/// with its event ID (see <see cref="HeirloomLog"/>), each process named by <see cref="ProcessLabels"/>. While a root
/// tree starts, its reports are held: when the start fails, the reports of that failure are dropped, since the
/// failure reaches the host (which logs it) as the exception of its start, and a failure is logged once.
/// </summary>
internal sealed class NodeReportLogger(ProcessLabels labels, ILogger<NodeReportLogger> logger)
{
    private readonly Lock _lock = new();
    private List<(NodeReport Report, Action Write)>? _held;

    public void Attach(Node node) => node.Reported += OnReported;

    public void Detach(Node node) => node.Reported -= OnReported;

    /// <summary>Holds the reports from now until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _held = [];
        }
    }

    /// <summary>Logs the reports held, in order, but those of <paramref name="startFailure"/> (the crash and the
    /// failed starts its exception chain holds); returns the id of the child whose start failed first, if any.</summary>
    public string? Release(Exception? startFailure)
    {
        List<(NodeReport Report, Action Write)> held;
        lock (_lock)
        {
            held = _held ?? [];
            _held = null;
        }

        string? failedChild = null;
        foreach (var (report, write) in held)
        {
            if (startFailure is not null && IsPartOf(report, startFailure))
            {
                failedChild ??= (report as SupervisorReport)?.ChildId;
                continue;
            }

            write();
        }

        return failedChild;
    }

    private static bool IsPartOf(NodeReport report, Exception failure)
    {
        var exception = report switch
        {
            CrashReport crash => crash.Exception,
            SupervisorReport { Event: SupervisorEvent.StartFailed } start => start.Reason.Exception,
            _ => null,
        };
        for (var e = failure; e is not null && exception is not null; e = e.InnerException)
        {
            if (ReferenceEquals(e, exception))
            {
                return true;
            }
        }

        return false;
    }

    private void OnReported(object? sender, NodeReport report)
    {
        // Processes are named now, while they can still be looked up, also for an entry that is held.
        var write = Entry((Node)sender!, report);
        lock (_lock)
        {
            if (_held is not null)
            {
                _held.Add((report, write));
                return;
            }
        }

        write();
    }

    private Action Entry(Node node, NodeReport report) => report switch
    {
        CrashReport crash => Crashed(crash, labels.Describe(node, crash.Pid, crash.RegisteredName, crash.Behaviour)),
        SupervisorReport supervisor => Supervised(supervisor, labels.Describe(node, supervisor.Pid)),
        StorageFailureReport { TableClosed: true } storage => () => HeirloomLog.TableStorageFailed(logger, storage.Exception, storage.TableName, storage.Directory),
        StorageFailureReport storage => () => HeirloomLog.SnapshotFailed(logger, storage.Exception, storage.TableName, storage.Directory),
        PoisonCallReport poison => () => HeirloomLog.PoisonCall(logger, poison.Exception, poison.Pid, poison.RegisteredName ?? "unnamed", poison.Request),
        HandOffRefusedReport refused => HandOffRefused(refused, labels.Describe(node, refused.Pid), labels.Describe(node, refused.Worker)),
        _ => Nothing,
    };

    /// <summary>The entry of a report this logger does not write.</summary>
    private static void Nothing()
    {
    }

    private Action Crashed(CrashReport crash, string process) => () => HeirloomLog.ProcessCrashed(logger, crash.Exception, process);

    private Action HandOffRefused(HandOffRefusedReport refused, string manager, string worker) =>
        () => HeirloomLog.TableHandOffRefused(logger, refused.Exception, manager, refused.TableName, worker);

    private Action Supervised(SupervisorReport report, string supervisor)
    {
        var child = report.ChildId ?? "(dynamic)";
        return report.Event switch
        {
            SupervisorEvent.ChildTerminated => () => HeirloomLog.ChildTerminated(logger, supervisor, child, report.Child, report.Reason),
            SupervisorEvent.ChildRestarted => () => HeirloomLog.ChildRestarted(logger, supervisor, child, report.Child, report.Reason),
            SupervisorEvent.StartFailed => () => HeirloomLog.ChildStartFailed(logger, supervisor, child, report.Reason),
            SupervisorEvent.MaxIntensityReached => () => HeirloomLog.SupervisorGaveUp(logger, supervisor, child, report.Reason, report.Intensity, Durations.Format(report.Period)),
            _ => Nothing,
        };
    }
}
