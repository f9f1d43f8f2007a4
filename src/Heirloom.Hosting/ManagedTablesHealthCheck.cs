using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Heirloom.Hosting;

/// <summary>
/// Readiness of the node's managed tables: healthy when every table of every running <see cref="TableManager"/> is
/// handed off to its worker; unhealthy while one waits for its worker (at start, or between a worker's crash and its
/// replacement), its worker was refused it (a <see cref="TableWorker{TKey, TValue}"/> of other key or value types; the
/// reason is given), or its storage has failed. Tag it for readiness only: a table waiting for its worker is no reason to
/// restart the service. Register it with
/// <c>services.AddHealthChecks().AddCheck&lt;ManagedTablesHealthCheck&gt;("heirloom-tables", tags: ["ready"])</c>.
/// </summary>
public sealed class ManagedTablesHealthCheck : IHealthCheck
{
    private readonly Node _node;

    /// <summary>Checks the managed tables of <paramref name="node"/>.</summary>
    /// <param name="node">The node (from DI, the host's).</param>
    public ManagedTablesHealthCheck(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>();
        var problems = new List<string>();
        foreach (var manager in TableManager.Running(_node))
        {
            IReadOnlyList<ManagedTableStatus> tables;
            try
            {
                tables = await TableManager.GetStatusAsync(manager).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (CallFailedException)
            {
                continue; // the manager exited meanwhile; its supervisor's restart shows up on the next check
            }

            foreach (var table in tables)
            {
                data[table.Name] = Describe(table);
                if (table.State != ManagedTableState.HandedOff)
                {
                    problems.Add($"{table.Name}: {Describe(table)}");
                }
            }
        }

        return problems.Count == 0
            ? HealthCheckResult.Healthy($"{data.Count} managed tables handed off.", data)
            : HealthCheckResult.Unhealthy($"{problems.Count} of {data.Count} managed tables not handed off: {string.Join("; ", problems)}.", data: data);
    }

    private static string Describe(ManagedTableStatus table) => table.State switch
    {
        ManagedTableState.HandedOff => $"handed off to {table.Owner}",
        ManagedTableState.Failed when table.Failure is Persistence.TableFileException refused => $"cannot be opened: {refused.Message}",
        ManagedTableState.Failed => $"storage failed ({table.Failure?.Message}); reopened {table.Reopens} times so far",
        _ when table.Failure is { } refused => $"not handed to its worker: {refused.Message} Waiting for a worker that can take it for {table.WaitingFor?.TotalSeconds ?? 0:0.###} s",
        _ => $"waiting for its worker for {table.WaitingFor?.TotalSeconds ?? 0:0.###} s",
    };
}
