using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Heirloom.Hosting.Tests;

/// <summary>How the node stops with its host, and how it says it ended: one shutdown budget for all root trees, a
/// give-up that names its limit and its cause. The class runs alone: its deadlines are in real time, and tests running
/// beside it that block pool threads would delay its timers by the pool's thread injection, not by the node.</summary>
[Collection(WallClockCollection.Name)]
public sealed class ShutdownTests
{
    private readonly CapturingLoggerProvider _logs = new();

    private IHost BuildHost(Action<HeirloomOptions> configure, Action<HeirloomBuilder> trees, Action<HostApplicationBuilder>? host = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(_logs);
        trees(builder.Services.AddHeirloom(configure));
        host?.Invoke(builder);
        return builder.Build();
    }

    private static SupervisorOptions HangingTree(string name) => new()
    {
        Name = name,
        Children = [ChildSpec.ForGenServer(name + "-child", () => new HangingServer()) with { Shutdown = ChildShutdown.Infinity }],
    };

    [Fact]
    public async Task Two_root_trees_whose_children_hang_in_terminate_stop_within_one_shutdown_timeout()
    {
        var timeout = TimeSpan.FromSeconds(1);
        using var host = BuildHost(o => o.ShutdownTimeout = timeout, b => b.AddSupervisor(HangingTree("first")).AddSupervisor(HangingTree("second")));
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        Assert.Equal(4, node.ProcessCount);

        var started = Stopwatch.GetTimestamp();
        await host.StopAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);

        var killedAt = _logs.FirstLoggedAt(1013) is { } stamp ? $"{Stopwatch.GetElapsedTime(started, stamp).TotalMilliseconds:F0} ms" : "never";
        Assert.True(
            elapsed < timeout + TimeSpan.FromMilliseconds(500),
            $"the host took {elapsed.TotalMilliseconds:F0} ms to stop with a shutdown timeout of {timeout}; what was left was killed at {killedAt}");
        Assert.Equal(0, node.ProcessCount);
        var overdue = Assert.Single(_logs.Entries, e => e.Id.Id == 1013);
        Assert.Contains("Heirloom:ShutdownTimeout (1 s)", overdue.Message);
    }

    [Fact]
    public async Task A_shutdown_timeout_not_below_the_hosts_own_fails_the_start_naming_both_settings()
    {
        using var host = BuildHost(
            o => o.ShutdownTimeout = TimeSpan.FromSeconds(40),
            _ => { },
            b => b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30)));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Heirloom:ShutdownTimeout is 40 s", error.Message);
        Assert.Contains("HostOptions.ShutdownTimeout, 30 s", error.Message);
    }

    [Fact]
    public async Task A_supervisor_that_gives_up_logs_the_limit_the_setting_and_the_childs_own_exception()
    {
        // The child dies as its start returns, before the supervisor links to it (as when a busy thread pool delays
        // the supervisor), and a slow log sink (here, a handler that takes 50 ms, as a console logger writing a stack
        // trace may) holds its exit between "dead" and "links signalled", where the supervisor's link fails with
        // noproc. The reason logged must still be the child's exception.
        var crasher = new ChildSpec("crasher", async (supervisor, _) =>
        {
            var pid = await GenServer.StartLinkAsync(supervisor, () => new CrashAfterInitServer("the crasher's own failure"));
            while (pid.IsAlive)
            {
                await Task.Delay(1);
            }

            return pid;
        });
        for (var run = 0; run < 3; run++)
        {
            var logs = new CapturingLoggerProvider();
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            builder.Services.AddHeirloom(o => o.ExitCodeWhenRootGivesUp = null).AddSupervisor(new SupervisorOptions
            {
                Intensity = 2,
                Period = TimeSpan.FromSeconds(30),
                Children = [crasher],
            });
            using var host = builder.Build();
            host.Services.GetRequiredService<Node>().Reported += (_, report) =>
            {
                if (report is CrashReport)
                {
                    Thread.Sleep(50);
                }
            };
            await host.StartAsync();
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            await Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));

            var gaveUp = Assert.Single(logs.Entries, e => e.Id.Id == 1005);
            Assert.Contains("root supervision tree 1", gaveUp.Message);
            Assert.True(gaveUp.Message.Contains("the crasher's own failure", StringComparison.Ordinal), gaveUp.Message);
            Assert.Contains("its limit of 2 restarts in 30 s (SupervisorOptions.Intensity and SupervisorOptions.Period)", gaveUp.Message);
            Assert.All(logs.Entries.Where(e => e.Id.Id is 1002 or 1003), e => Assert.DoesNotContain("noproc", e.Message, StringComparison.OrdinalIgnoreCase));
            var root = Assert.Single(logs.Entries, e => e.Id.Id == 1010);
            Assert.StartsWith("The root supervision tree 1 <", root.Message);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_crashed_process_without_a_name_is_logged_by_what_it_runs()
    {
        // It gives up in the end; the exit code is the test runner's, so it is left alone.
        using var host = BuildHost(o => o.ExitCodeWhenRootGivesUp = null, b => b.AddSupervisor(new SupervisorOptions
        {
            Name = "tree",
            Intensity = 5,
            Children = [ChildSpec.ForGenServer("crasher", () => new CrashAfterInitServer("boom"))],
        }));
        await host.StartAsync();
        await WaitFor(() => _logs.Entries.Count(e => e.Id.Id == 1003) >= 1);
        var crash = _logs.Entries.First(e => e.Id.Id == 1001);
        Assert.StartsWith("Process CrashAfterInitServer <", crash.Message);
        Assert.StartsWith("Supervisor 'tree' <", _logs.Entries.First(e => e.Id.Id == 1003).Message);
        await host.StopAsync();
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
