using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Heirloom.Behaviours;
using Heirloom.Diagnostics;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tests.Persistence.Faults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting.Tests;

/// <summary>A durable managed table in a real host: health checks that follow its hand-offs and its journal, metrics
/// that follow its writes, traces of the calls that make them.</summary>
public sealed class TableHostingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-hosting-").FullName;
    private readonly FaultInjectingFileSystem _files = new();
    private readonly CapturingLoggerProvider _logs = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Keeps counts in the table it is handed: the call ("add", key) adds one to key's count.</summary>
    private sealed class Counter : TableWorker<string, long>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) => request switch
        {
            string key => ValueTask.FromResult(CallResult.Reply(Add(key))),
            _ => base.HandleTableCallAsync(request, from),
        };

        private long Add(string key)
        {
            var count = Table.TryGetValue(key, out var current) ? current + 1 : 1;
            Table.Insert(key, count);
            return count;
        }
    }

    /// <summary>Written for a table of strings, not of counts.</summary>
    private sealed class TextWorker : TableWorker<string, string>
    {
    }

    private IHost BuildHost()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(_logs);
        var table = ManagedTable.Durable<string, long>("counts", new DurabilityOptions(_directory) { FileSystem = _files }) with { FindMeName = "counter" };

        // The manager alone in its tree: the tests start and kill the worker themselves.
        builder.Services.AddHeirloom(options => options.FsyncLagLimit = TimeSpan.FromSeconds(30))
            .AddTable<string, long>("counts")
            .AddTable<string, string>("missing")
            .AddSupervisor(new SupervisorOptions
            {
                Children = [TableManager.ChildSpec(new TableManagerOptions { Tables = [table], InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(50) })],
            });
        builder.Services.AddHealthChecks()
            .AddCheck<HeirloomHealthCheck>("heirloom", tags: ["live", "ready"])
            .AddCheck<ManagedTablesHealthCheck>("heirloom-tables", tags: ["ready"])
            .AddCheck<DurableTablesHealthCheck>("heirloom-journals", tags: ["live", "ready"]);
        return builder.Build();
    }

    [Fact]
    public async Task The_readiness_check_follows_the_table_from_manager_to_worker_and_back()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var waiting = await health.CheckHealthAsync(c => c.Tags.Contains("ready"));
        Assert.Equal(HealthStatus.Unhealthy, waiting.Status);
        Assert.Contains("counts: waiting for its worker", waiting.Entries["heirloom-tables"].Description);
        Assert.Equal(HealthStatus.Healthy, waiting.Entries["heirloom-journals"].Status);

        var worker = await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        await WaitFor(async () => (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Status == HealthStatus.Healthy);
        Assert.Equal(1L, await GenServer.CallAsync<long>(node, "counter", "a"));

        node.Exit(worker, ExitReason.Kill);
        await WaitFor(async () => (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Entries["heirloom-tables"].Status == HealthStatus.Unhealthy);

        // Liveness is not about the hand-off: a table waiting for its worker is no reason to restart the service.
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(c => c.Tags.Contains("live"))).Status);
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        await WaitFor(async () => (await health.CheckHealthAsync()).Status == HealthStatus.Healthy);
        Assert.Equal(2L, await GenServer.CallAsync<long>(node, "counter", "a"));
        await host.StopAsync();
    }

    [Fact]
    public async Task Named_tables_resolve_from_DI_as_keyed_services_and_a_missing_one_says_why()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        Assert.Equal(1L, await GenServer.CallAsync<long>(node, "counter", "a", TimeSpan.FromSeconds(10)));

        var counts = host.Services.GetRequiredKeyedService<Table<string, long>>("counts");
        Assert.True(counts.TryGetValue("a", out var count));
        Assert.Equal(1, count);
        var missing = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredKeyedService<Table<string, string>>("missing"));
        Assert.Contains("No table named 'missing'", missing.Message);
        await host.StopAsync();
    }

    [Fact]
    public async Task The_journal_check_turns_unhealthy_when_fsync_fails_and_healthy_once_the_table_is_reopened()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        Assert.Equal(1L, await GenServer.CallAsync<long>(node, "counter", "a", TimeSpan.FromSeconds(10)));

        _files.Arm(FileOperation.Fsync, FaultInjectingFileSystem.IoError, path => path.EndsWith(".log", StringComparison.Ordinal));
        await Assert.ThrowsAsync<CallFailedException>(async () => await GenServer.CallAsync<long>(node, "counter", "a"));

        var failed = await health.CheckHealthAsync(c => c.Tags.Contains("live"));
        Assert.Equal(HealthStatus.Unhealthy, failed.Status);
        Assert.Contains("counts: closed after", failed.Entries["heirloom-journals"].Description);

        _files.Heal();
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        await WaitFor(async () => (await health.CheckHealthAsync()).Status == HealthStatus.Healthy);

        // The failed write was never acknowledged and never applied: the count goes on from the last durable one.
        Assert.Equal(2L, await GenServer.CallAsync<long>(node, "counter", "a"));
        await host.StopAsync();
    }

    [Fact]
    public async Task Metrics_follow_transfers_table_sizes_fsyncs_and_mailboxes()
    {
        using var host = BuildHost();
        var longs = new ConcurrentDictionary<string, long>();
        var fsyncs = new ConcurrentQueue<double>();
        var tables = new ConcurrentDictionary<string, long>();
        var scope = host.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == HeirloomInstrumentation.MeterName && instrument.Meter.Scope == scope)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            switch (instrument)
            {
                case ObservableGauge<long> when instrument.Name == "heirloom.table.size":
                    tables[(string)Tag(tags, "heirloom.table")!] = value;
                    break;
                case ObservableGauge<long>:
                    longs[instrument.Name] = value;
                    break;
                default:
                    longs.AddOrUpdate(instrument.Name, value, (_, total) => total + value);
                    break;
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            Assert.Equal("counts", Tag(tags, "heirloom.table"));
            fsyncs.Enqueue(value);
        });
        listener.Start();

        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        foreach (var key in new[] { "a", "b", "c" })
        {
            await GenServer.CallAsync<long>(node, "counter", key, TimeSpan.FromSeconds(10));
        }

        // A process that never receives keeps what it is sent.
        var deaf = node.Spawn(async _ => await Task.Delay(Timeout.Infinite));
        for (var i = 0; i < 10; i++)
        {
            deaf.Send(i);
        }

        listener.RecordObservableInstruments();
        Assert.Equal(1, longs["heirloom.table.transfers"]);
        Assert.Equal(3, tables["counts"]);
        Assert.True(longs["heirloom.mailbox.length"] >= 10, $"{longs["heirloom.mailbox.length"]} messages waiting");
        Assert.True(longs["heirloom.journal.group_commit.size"] >= 3, $"{longs["heirloom.journal.group_commit.size"]} records fsynced");
        Assert.True(fsyncs.Count >= 3, $"{fsyncs.Count} fsyncs");
        Assert.All(fsyncs, seconds => Assert.InRange(seconds, 0, 60));
        await host.StopAsync();
    }

    [Fact]
    public async Task Each_call_is_an_activity_naming_its_server_and_a_failed_one_carries_the_error()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == HeirloomInstrumentation.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var worker = await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        await GenServer.CallAsync<long>(worker, "a", TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<CallFailedException>(async () => await GenServer.CallAsync(worker, 42));

        var calls = activities.Where(a => (string?)a.GetTagItem("heirloom.server") == worker.ToString()).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, a => Assert.Equal("heirloom.call", a.OperationName));
        Assert.Equal(["String", "Int32"], calls.Select(a => (string?)a.GetTagItem("heirloom.request")));
        Assert.Equal([ActivityStatusCode.Unset, ActivityStatusCode.Error], calls.Select(a => a.Status));
        await host.StopAsync();
    }

    private static object? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value;
            }
        }

        return null;
    }

    [Fact]
    public async Task A_worker_of_other_types_is_refused_the_table_and_readiness_and_the_log_say_why()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var node = host.Services.GetRequiredService<Node>();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var wrong = await GenServer.StartAsync(node, () => new TextWorker(), new GenServerOptions { Name = "counter" });
        var reason = await node.WhenExited(wrong).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.IsType<TableTypeMismatchException>(reason.Exception);
        var tables = (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Entries["heirloom-tables"];
        Assert.Equal(HealthStatus.Unhealthy, tables.Status);
        Assert.Contains("counts: not handed to its worker: The managed table 'counts' holds <System.String, System.Int64>, but its worker", tables.Description);
        Assert.Contains("is a TableWorker<System.String, System.String>", tables.Description);
        var logged = _logs.Entries.First(e => e.Id.Id == 1008);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Contains("managed table counts was not handed on", logged.Message);
        Assert.IsType<TableTypeMismatchException>(logged.Exception);

        // The right worker gets the table and readiness recovers.
        await GenServer.StartAsync(node, () => new Counter(), new GenServerOptions { Name = "counter" });
        await WaitFor(async () => (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Status == HealthStatus.Healthy);
        await host.StopAsync();
    }

    [Fact]
    public async Task Readiness_names_a_managed_table_whose_directory_holds_other_types()
    {
        await using (var writer = new Node())
        {
            DurableTable.Open<string, string>(writer, new TableOptions { Name = "counts" }, new DurabilityOptions(_directory)).Insert("a", "text");
        }

        await using var node = new Node();
        var table = ManagedTable.Durable<string, long>("counts", new DurabilityOptions(_directory)) with { FindMeName = "counter" };
        await TableManager.StartAsync(node, new TableManagerOptions { Tables = [table], InitialBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) });

        var result = await new ManagedTablesHealthCheck(node).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("counts: cannot be opened:", result.Description);
        Assert.Contains("written with codecs utf8/utf8; it cannot be opened as a Set table with codecs utf8/i64", result.Description);
    }

    private static async Task WaitFor(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within ten seconds");
            await Task.Delay(10);
        }
    }
}
