using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Heirloom.Hosting;

/// <summary>
/// The node's health: healthy while it runs with every root supervision tree alive; unhealthy before the host
/// started it, after it stopped, or once a root tree gave up. Register it with
/// <c>services.AddHealthChecks().AddCheck&lt;HeirloomHealthCheck&gt;("heirloom", tags: ["live", "ready"])</c>.
/// </summary>
public sealed class HeirloomHealthCheck : IHealthCheck
{
    private readonly HeirloomHostedService _service;

    internal HeirloomHealthCheck(HeirloomHostedService service) => _service = service;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (running, roots, deadRoots) = _service.State();
        var data = new Dictionary<string, object> { ["roots"] = roots, ["processes"] = _service.Node.ProcessCount };
        return Task.FromResult(!running
            ? HealthCheckResult.Unhealthy("The Heirloom node is not running.", data: data)
            : deadRoots > 0
                ? HealthCheckResult.Unhealthy($"{deadRoots} of {roots} root supervision trees gave up.", data: data)
                : HealthCheckResult.Healthy($"{roots} supervision trees running.", data));
    }
}
