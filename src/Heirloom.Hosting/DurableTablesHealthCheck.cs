using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting;

/// <summary>
/// The node's durable tables' journals: unhealthy when one has failed (its table is closed: a full disk, a failed
/// fsync); degraded when writes have waited for an fsync longer than <see cref="HeirloomOptions.FsyncLagLimit"/>
/// (a disk that stalls); healthy otherwise. Each table's data gives its fsync policy, the age of its last fsync and
/// the records waiting for one. Register it with
/// <c>services.AddHealthChecks().AddCheck&lt;DurableTablesHealthCheck&gt;("heirloom-journals", tags: ["live", "ready"])</c>.
/// </summary>
public sealed class DurableTablesHealthCheck : IHealthCheck
{
    private readonly Node _node;
    private readonly StorageFailures _failures;
    private readonly IOptionsMonitor<HeirloomOptions> _options;

    internal DurableTablesHealthCheck(Node node, StorageFailures failures, IOptionsMonitor<HeirloomOptions> options)
    {
        _node = node;
        _failures = failures;
        _options = options;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var limit = _options.CurrentValue.FsyncLagLimit;
        var data = new Dictionary<string, object>();
        var failed = new List<string>();
        var lagging = new List<string>();
        var open = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in _node.Tables.All())
        {
            if (!DurableTable.TryGetStatus(table, out var status))
            {
                continue;
            }

            open.Add(status.Directory);
            var name = table.Name ?? status.Directory;
            var waiting = status.LastSequence - status.DurableSequence;
            data[name] = $"fsync {status.Fsync}, last fsync {status.SinceLastFsync.TotalSeconds:0.###} s ago, {waiting} records waiting for one";
            if (status.Failure is { } failure)
            {
                failed.Add($"{name}: {failure.Message}");
            }
            else if (waiting > 0 && status.Fsync != FsyncPolicy.None && status.SinceLastFsync > limit)
            {
                lagging.Add($"{name}: {waiting} records have waited {status.SinceLastFsync.TotalSeconds:0.#} s for an fsync");
            }
        }

        // A table closed by its failure is no longer among the node's tables until it is opened again.
        foreach (var closed in _failures.Unrecovered(open))
        {
            var name = closed.TableName ?? closed.Directory;
            data[name] = $"closed: {closed.Exception.Message}";
            failed.Add($"{name}: closed after {closed.Exception.Message}");
        }

        return Task.FromResult(failed.Count > 0
            ? HealthCheckResult.Unhealthy($"{failed.Count} durable tables failed: {string.Join("; ", failed)}.", data: data)
            : lagging.Count > 0
                ? HealthCheckResult.Degraded($"{lagging.Count} journals lag: {string.Join("; ", lagging)}.", data: data)
                : HealthCheckResult.Healthy($"{data.Count} durable tables writable.", data));
    }
}
