using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Heirloom.Behaviours;
using Heirloom.Diagnostics;
using Heirloom.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting.Tests;

/// <summary>Heirloom in a real Generic Host: started and stopped with it, reporting through its logger, metrics and
/// health checks.</summary>
public sealed class HostingTests
{
    private readonly ConcurrentQueue<string> _events = new();
    private readonly CapturingLoggerProvider _logs = new();

    private SupervisorOptions Tree(int intensity = 10) => new()
    {
        Intensity = intensity,
        Children = [.. new[] { "a", "b", "c" }.Select(id => ChildSpec.ForGenServer(id, () => new RecordingServer(id, _events.Enqueue), new GenServerOptions { Name = id }))],
    };

    private IHost BuildHost(Action<HeirloomOptions>? configure = null, int intensity = 10)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(_logs);
        builder.Services.AddHeirloom(configure).AddSupervisor(Tree(intensity));
        builder.Services.AddHealthChecks().AddCheck<HeirloomHealthCheck>("heirloom", tags: ["live", "ready"]);
        return builder.Build();
    }

    [Fact]
    public async Task The_node_starts_its_trees_with_the_host_and_stops_them_in_reverse_order_with_it()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        Assert.Equal(["a started", "b started", "c started"], _events);
        Assert.True(node.WhereIs("b").IsAlive);
        Assert.Contains(_logs.Entries, e => e.Id.Id == 1011);

        await host.StopAsync();
        Assert.Equal(["c terminated shutdown", "b terminated shutdown", "a terminated shutdown"], _events.Skip(3));
        Assert.Equal(0, node.ProcessCount);
        Assert.Contains(_logs.Entries, e => e.Id.Id == 1012);
    }

    [Fact]
    public async Task Each_crash_is_one_log_entry_with_its_event_id_and_the_supervisor_names_the_child()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var b = node.WhereIs("b");
        GenServer.Cast(b, "crash");
        await node.WhenExited(b);
        await WaitFor(() => node.WhereIs("b") is { IsNone: false } again && again != b);

        // The replacement registers its name before the supervisor reports the restart.
        await WaitFor(() => _logs.Entries.Any(e => e.Id.Id == 1003));
        var crashes = _logs.Entries.Where(e => e.Id.Id == 1001).ToList();
        var crash = Assert.Single(crashes);
        Assert.Equal("ProcessCrashed", crash.Id.Name);
        Assert.Contains("b was told to crash", crash.Exception!.Message);
        var terminated = Assert.Single(_logs.Entries, e => e.Id.Id == 1002);
        Assert.Contains("child b", terminated.Message);
        Assert.Contains("b was told to crash", terminated.Message);
        Assert.Contains("child b restarted", Assert.Single(_logs.Entries, e => e.Id.Id == 1003).Message);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_root_tree_that_gives_up_stops_the_application()
    {
        using var host = BuildHost(intensity: 0);
        await host.StartAsync();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var node = host.Services.GetRequiredService<Node>();
        GenServer.Cast(node.WhereIs("a"), "crash");

        await Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(_logs.Entries, e => e.Id.Id == 1010 && e.Message.Contains("stopping the application with exit code 1", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Id.Id == 1005);
        await host.StopAsync();

        // The exit code is the OS process's: this test's runner returns its own, so set it back. A real host process
        // is checked in GivenUpHostTests.
        Assert.Equal(1, Environment.ExitCode);
        Environment.ExitCode = 0;
    }

    [Fact]
    public async Task With_stopping_turned_off_a_root_that_gives_up_turns_the_health_check_unhealthy()
    {
        using var host = BuildHost(options => options.StopApplicationWhenRootGivesUp = false, intensity: 0);
        var health = host.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);

        await host.StartAsync();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        var node = host.Services.GetRequiredService<Node>();
        GenServer.Cast(node.WhereIs("a"), "crash");
        await WaitFor(() => _logs.Entries.Any(e => e.Id.Id == 1010));

        var report = await health.CheckHealthAsync(check => check.Tags.Contains("live"));
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("1 of 1 root supervision trees gave up", report.Entries["heirloom"].Description);
        Assert.False(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        await host.StopAsync();
    }

    [Fact]
    public async Task Metrics_count_crashes_and_restarts_and_observe_the_processes()
    {
        using var host = BuildHost();
        var measured = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == HeirloomInstrumentation.MeterName && instrument.Meter.Scope == host.Services.GetRequiredService<IMeterFactory>())
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measured.AddOrUpdate(instrument.Name, value, (_, total) => instrument is ObservableGauge<long> ? value : total + value));
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => measured[instrument.Name] = value);
        listener.Start();

        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var a = node.WhereIs("a");
        GenServer.Cast(a, "crash");
        await WaitFor(() => node.WhereIs("a") is { IsNone: false } again && again != a);
        await WaitFor(() => measured.GetValueOrDefault("heirloom.supervisor.restarts") == 1);
        listener.RecordObservableInstruments();

        Assert.Equal(1, measured["heirloom.process.crashes"]);
        Assert.Equal(1, measured["heirloom.supervisor.restarts"]);
        Assert.Equal(node.ProcessCount, measured["heirloom.process.count"]);
        Assert.Equal(4, measured["heirloom.process.count"]);
        await host.StopAsync();
    }

    [Fact]
    public async Task Bad_options_fail_the_start_naming_the_setting()
    {
        using var host = BuildHost(options => options.ShutdownTimeout = TimeSpan.Zero);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Heirloom:ShutdownTimeout", error.Message);
    }

    [Fact]
    public async Task Options_bind_from_configuration_and_a_bad_value_fails_the_start_naming_it()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Heirloom:ShutdownTimeout"] = "00:00:07",
            ["Heirloom:StopApplicationWhenRootGivesUp"] = "false",
            ["Heirloom:FsyncLagLimit"] = "-00:00:01",
        });
        builder.Services.AddHeirloom(builder.Configuration.GetSection(HeirloomOptions.SectionName));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptions<HeirloomOptions>>();
        Assert.Throws<OptionsValidationException>(() => options.Value);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Heirloom:FsyncLagLimit", error.Message);
        Assert.DoesNotContain("ShutdownTimeout", error.Message);

        builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Heirloom:ShutdownTimeout"] = "00:00:07" });
        builder.Services.AddHeirloom(builder.Configuration.GetSection(HeirloomOptions.SectionName));
        using var good = builder.Build();
        await good.StartAsync();
        Assert.Equal(TimeSpan.FromSeconds(7), good.Services.GetRequiredService<Node>().ShutdownTimeout);
        await good.StopAsync();
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within ten seconds");
            await Task.Delay(5);
        }
    }
}
