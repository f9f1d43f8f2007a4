using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Heirloom.Behaviours;
using Heirloom.Processes;
using Xunit.Abstractions;

namespace Heirloom.WebSample.Tests;

/// <summary>The web sample on Kestrel, on a loopback port, driven over HTTP as its clients would.</summary>
public sealed class WebSampleTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("heirloom-websample-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(WebApplication App, HttpClient Client)> StartAsync(string fsync = "EverySecond")
    {
        var app = CounterApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Counters:Directory", _directory, "--Counters:MaxRestarts", "10000", "--Counters:Fsync", fsync],
            builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
        return (app, client);
    }

    [Fact]
    public async Task Counts_are_written_through_the_worker_read_from_the_table_and_survive_a_restart()
    {
        var (app, client) = await StartAsync();
        using (var ready = await client.GetAsync("/health/ready"))
        {
            // Each check with its description, not a bare "Healthy".
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            var checks = report.RootElement.GetProperty("checks");
            Assert.Equal("1 supervision trees running.", checks.GetProperty("heirloom").GetProperty("description").GetString());
            Assert.Equal(["heirloom", "heirloom-tables", "heirloom-journals"], checks.EnumerateObject().Select(c => c.Name));
            Assert.All(checks.EnumerateObject(), c => Assert.False(string.IsNullOrEmpty(c.Value.GetProperty("description").GetString())));
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        for (var i = 1; i <= 3; i++)
        {
            var response = await client.PostAsync("/counters/ann", null);
            Assert.Equal(i, await response.Content.ReadFromJsonAsync<long>());
        }

        Assert.Equal(3, await client.GetFromJsonAsync<long>("/counters/ann"));
        Assert.Equal(0, await client.GetFromJsonAsync<long>("/counters/bob"));
        await app.StopAsync();
        await app.DisposeAsync();

        (app, client) = await StartAsync();
        Assert.Equal(3, await client.GetFromJsonAsync<long>("/counters/ann"));
        Assert.Equal(4, await (await client.PostAsync("/counters/ann", null)).Content.ReadFromJsonAsync<long>());
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_configured_metrics_and_call_traces_are_exported()
    {
        // A stand-in collector on loopback that keeps what it is sent.
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var collectorBuilder = WebApplication.CreateSlimBuilder();
        collectorBuilder.Logging.ClearProviders();
        collectorBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();

        // The exporters read the standard variables when they are made, as the application starts.
        var settings = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Urls.Single(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        WebApplication app;
        HttpClient client;
        try
        {
            foreach (var (name, value) in settings)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            (app, client) = await StartAsync();
        }
        finally
        {
            foreach (var name in settings.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/counters/otlp", null)).StatusCode);
        }

        // Metrics go out every 500 ms and traces in batches every 200 ms while the application runs.
        bool Exported() =>
            received.Any(r => r.Path == "/v1/metrics" && Contains(r.Body, "heirloom.process.count"))
            && received.Any(r => r.Path == "/v1/traces" && Contains(r.Body, "heirloom.call"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Exported() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await app.StopAsync();
        await app.DisposeAsync();
        Assert.Contains(received, r => r.Path == "/v1/metrics" && Contains(r.Body, "heirloom.process.count"));
        Assert.Contains(received, r => r.Path == "/v1/traces" && Contains(r.Body, "heirloom.call"));

        static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
    }

    [Theory]
    [InlineData("EverySecond")]
    [InlineData("Always")]
    public async Task A_worker_killed_every_50_ms_under_load_loses_no_acknowledged_count_and_causes_no_other_crash(string fsync)
    {
        var (app, client) = await StartAsync(fsync);
        var node = app.Services.GetRequiredService<Node>();
        var reports = new ConcurrentQueue<NodeReport>();
        node.Reported += (_, report) => reports.Enqueue(report);

        const int Users = 16, Kills = 40;
        var acknowledged = new long[Users];
        var refused = 0;
        var interrupted = 0;
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Users).Select(user => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await client.PostAsync($"/counters/user{user}", null);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var count = await response.Content.ReadFromJsonAsync<long>();

                    // One client per user: each acknowledged count is above the one before.
                    Assert.True(count > acknowledged[user], $"user{user}: {count} acknowledged after {acknowledged[user]}");
                    acknowledged[user] = count;
                }
                else if (response.StatusCode == HttpStatusCode.InternalServerError)
                {
                    // The worker was killed while it handled this request: its outcome is unknown (docs/aspnetcore.md).
                    Interlocked.Increment(ref interrupted);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Interlocked.Increment(ref refused);
                }
            }
        })).ToArray();

        // A worker takes its name as it is spawned, before its init has run: one killed then is a failed start for the
        // supervisor (which starts it again), not a terminated child.
        int Terminations() => reports.OfType<SupervisorReport>().Count(r => r.Event is SupervisorEvent.ChildTerminated or SupervisorEvent.StartFailed);
        string Events() => string.Join(", ", reports.OfType<SupervisorReport>().GroupBy(r => r.Event).Select(g => $"{g.Key} {g.Count()}"));

        // Counted in kills, not in time, so that a loaded machine still meets enough of them.
        var kills = 0;
        var killing = DateTime.UtcNow.AddSeconds(60);
        while (kills < Kills)
        {
            Assert.True(DateTime.UtcNow < killing, $"only {kills} kills in a minute");
            await Task.Delay(50);
            if (node.WhereIs(CounterEndpoints.TableName) is { IsNone: false } worker)
            {
                node.Exit(worker, ExitReason.Custom("killed by the test"));
                kills++;
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(clients);
        output.WriteLine($"{kills} kills, {acknowledged.Sum()} acknowledged, {refused} refused while the worker was replaced, {interrupted} interrupted by a kill");

        // A kill interrupts at most the request the worker was handling (500, outcome unknown); the requests queued
        // behind it, and those sent while it was replaced, are served by its successor, so none is refused. A reply
        // that waits for the shared fsync (fsync Always) does not need the worker: it is sent once the write is
        // durable, killed worker or not.
        Assert.True(interrupted <= kills, $"{interrupted} requests interrupted by {kills} kills");
        Assert.True(refused == 0, $"{refused} requests refused while the worker was replaced");

        // Every termination the supervisor saw is one of the kills (the last one's report may still be on its way),
        // and nothing crashed on its own: no request met a worker without its table.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Terminations() < kills && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        output.WriteLine($"the supervisor saw {Events()}");
        Assert.True(kills == Terminations(), $"{kills} workers killed; the supervisor saw {Events()}");
        Assert.Empty(reports.OfType<CrashReport>());

        await app.StopAsync();
        await app.DisposeAsync();
        (app, client) = await StartAsync(fsync);
        for (var user = 0; user < Users; user++)
        {
            var count = await client.GetFromJsonAsync<long>($"/counters/user{user}");
            Assert.True(count >= acknowledged[user], $"user{user}: {count} after restart, {acknowledged[user]} acknowledged");
        }

        await app.StopAsync();
        await app.DisposeAsync();
    }
}
