using System.Text.RegularExpressions;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Dashboard.Tests;

/// <summary>The dashboard page in headless chromium against a live node: a supervisor with a table manager and the
/// worker that owns its table.</summary>
public sealed partial class DashboardTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Node _node = new();
    private readonly TaskCompletionSource _watching = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _app = null!;
    private string _url = "";

    /// <summary>Owns the table; answers "ping".</summary>
    private sealed class Worker : TableWorker<string, long>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from) => ValueTask.FromResult(CallResult.Reply("pong"));
    }

    public async Task InitializeAsync()
    {
        await Supervisor.StartAsync(_node, new SupervisorOptions
        {
            Strategy = SupervisorStrategy.RestForOne,
            Intensity = 100,
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Tables = [ManagedTable.For<string, long>("sessions") with { FindMeName = "worker" }] }),
                ChildSpec.ForGenServer("worker", () => new Worker(), new GenServerOptions { Name = "worker" }),
            ],
        });
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();

        // Tells the test when the page has opened its event stream.
        _app.Use(async (HttpContext context, RequestDelegate next) =>
        {
            if (context.Request.Path.Value?.EndsWith("/api/events", StringComparison.Ordinal) == true)
            {
                _watching.TrySetResult();
            }

            await next(context);
        });
        _app.MapHeirloomDashboard(_node);
        await _app.StartAsync();
        _url = _app.Urls.Single() + "/heirloom/";
        await WorkerHoldsTableAsync(Pid.None);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task The_tree_and_the_table_with_its_owner_and_heir_appear()
    {
        await using var page = await ChromiumPage.OpenAsync(_url);
        var worker = _node.WhereIs("worker").ToString();
        var manager = TableManager.Running(_node).Single().ToString();
        await page.WaitForAsync("document.querySelector('#trees .sup') && document.querySelector('#tables tbody tr')", TimeSpan.FromSeconds(10));

        Assert.Contains("RestForOne", await page.EvaluateAsync("document.getElementById('trees').textContent"));
        Assert.Contains(worker, await page.EvaluateAsync("document.getElementById('trees').textContent"));
        var row = await page.EvaluateAsync("document.querySelector('#tables tr[data-table=sessions]').textContent");
        Assert.Contains(worker, row);
        Assert.Contains(manager, row);
        Assert.Contains("HandedOff", row);
        output.WriteLine(await page.ScreenshotAsync("tree-and-tables"));
    }

    [Fact]
    public async Task A_killed_worker_is_replaced_on_screen_within_a_second_and_the_table_moves_to_it()
    {
        var before = _node.WhereIs("worker");
        await using var page = await ChromiumPage.OpenAsync(_url);
        await _watching.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await page.WaitForAsync($"document.getElementById('trees').textContent.includes('{before}')", TimeSpan.FromSeconds(10));

        // The page watches; the worker is killed; its replacement and the table's move must be on screen within a second.
        var killed = System.Diagnostics.Stopwatch.StartNew();
        _node.Exit(before, ExitReason.Kill);
        var after = await WorkerHoldsTableAsync(before);
        await page.WaitForAsync($"document.getElementById('trees').textContent.includes('{after}') && document.querySelector('#moves li[data-owner=\"{after}\"]')", TimeSpan.FromSeconds(10));
        var shownAfter = killed.Elapsed;
        output.WriteLine($"replacement {after} and the table's move shown {shownAfter.TotalMilliseconds:F0} ms after the kill");
        output.WriteLine(await page.EvaluateAsync("document.getElementById('moves').textContent"));
        Assert.InRange(shownAfter, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(before.ToString(), await page.EvaluateAsync("document.getElementById('trees').textContent"));
        output.WriteLine(await page.ScreenshotAsync("worker-replaced"));
    }

    [Fact]
    public async Task A_filter_over_100000_processes_finds_the_worker_quickly()
    {
        var idle = Enumerable.Range(0, 100_000).Select(_ => _node.Spawn(async ctx => await ctx.ReceiveAsync())).ToList();
        await using var page = await ChromiumPage.OpenAsync(_url + "#filter=worker");
        await page.WaitForAsync("/ match \\(/.test(document.getElementById('process-count').textContent)", TimeSpan.FromSeconds(20));
        var count = ProcessCountRegex().Match(await page.EvaluateAsync("document.getElementById('process-count').textContent"));
        output.WriteLine(count.Value);
        Assert.True(count.Success, "the page shows no process count");
        Assert.True(int.Parse(count.Groups["total"].Value, System.Globalization.CultureInfo.InvariantCulture) > 100_000);
        Assert.Equal("1", count.Groups["matched"].Value);
        Assert.Contains("worker", await page.EvaluateAsync("document.querySelector('#processes tbody').textContent"));

        // Generous: a filter of 100,000 processes takes tens of milliseconds; seconds would mean it is broken.
        Assert.InRange(double.Parse(count.Groups["ms"].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 2000);
        output.WriteLine(await page.ScreenshotAsync("filter-100000"));
        idle.ForEach(pid => _node.Exit(pid, ExitReason.Kill));
    }

    /// <summary>Waits until a live worker other than <paramref name="previous"/> owns the table; returns it.</summary>
    private async Task<Pid> WorkerHoldsTableAsync(Pid previous)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var worker = _node.WhereIs("worker");
            if (!worker.IsNone && worker != previous && _node.Tables.WhereIs("sessions")?.Owner == worker)
            {
                return worker;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("No worker took the table within ten seconds.");
    }

    [GeneratedRegex("(?<matched>\\d+) of (?<total>\\d+) match \\((?<ms>\\d+) ms\\)")]
    private static partial Regex ProcessCountRegex();
}
