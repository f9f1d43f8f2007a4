using System.Text.Json;
using Heirloom.Behaviours;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>A health report written with each check's status, description and data.</summary>
public sealed class HealthReportWriterTests
{
    [Fact]
    public async Task Each_checks_description_and_data_are_written()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHeirloom(o => (o.StopApplicationWhenRootGivesUp, o.ExitCodeWhenRootGivesUp) = (false, null)).AddSupervisor(new SupervisorOptions
        {
            Intensity = 0,
            Children = [ChildSpec.ForGenServer("crasher", () => new CrashAfterInitServer("boom"))],
        });
        builder.Services.AddHealthChecks()
            .AddCheck<HeirloomHealthCheck>("heirloom", tags: ["live"])
            .AddCheck("broken", () => HealthCheckResult.Degraded("a check that failed", new TimeoutException("took too long"), new Dictionary<string, object> { ["ratio"] = 0.5, ["ok"] = false }));
        using var host = builder.Build();
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        // The tree gives up at its child's first crash.
        var report = await health.CheckHealthAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (report.Entries["heirloom"].Status == HealthStatus.Healthy)
        {
            Assert.True(DateTime.UtcNow < deadline, "the tree did not give up within ten seconds");
            await Task.Delay(5);
            report = await health.CheckHealthAsync();
        }

        using var written = new MemoryStream();
        await HealthReportWriter.WriteJsonAsync(written, report);
        using var json = JsonDocument.Parse(written.ToArray());

        Assert.Equal("Unhealthy", json.RootElement.GetProperty("status").GetString());
        var heirloom = json.RootElement.GetProperty("checks").GetProperty("heirloom");
        Assert.Equal("Unhealthy", heirloom.GetProperty("status").GetString());
        Assert.Equal("1 of 1 root supervision trees gave up.", heirloom.GetProperty("description").GetString());
        Assert.Equal(1, heirloom.GetProperty("data").GetProperty("roots").GetInt32());
        Assert.Equal("live", heirloom.GetProperty("tags")[0].GetString());
        var broken = json.RootElement.GetProperty("checks").GetProperty("broken");
        Assert.Equal("Degraded", broken.GetProperty("status").GetString());
        Assert.Equal("a check that failed", broken.GetProperty("description").GetString());
        Assert.Equal("took too long", broken.GetProperty("error").GetString());
        Assert.Equal(0.5, broken.GetProperty("data").GetProperty("ratio").GetDouble());
        Assert.False(broken.GetProperty("data").GetProperty("ok").GetBoolean());
        await host.StopAsync();
    }
}
