using System.Net;
using Heirloom.Behaviours;
using Heirloom.Processes;
using Xunit.Abstractions;

namespace Heirloom.Dashboard.Tests;

/// <summary>The dashboard's kill endpoint (with <see cref="DashboardOptions.AllowKill"/>): refused to another site's
/// page, and followed on the page by the process list with the next view pushed.</summary>
public sealed class KillEndpointTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Node _node = new();
    private readonly HttpClient _http = new();
    private WebApplication _app = null!;
    private string _url = "";

    /// <summary>Does nothing; its supervisor restarts it when it is killed.</summary>
    private sealed class Idle : GenServer
    {
    }

    public async Task InitializeAsync()
    {
        await Supervisor.StartAsync(_node, new SupervisorOptions
        {
            Intensity = 100,
            Children = [ChildSpec.ForGenServer("idle", () => new Idle(), new GenServerOptions { Name = "idle" })],
        });
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapHeirloomDashboard(_node, configure: options => options.AllowKill = true);
        await _app.StartAsync();
        _url = _app.Urls.Single() + "/heirloom/";
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _node.DisposeAsync();
    }

    private HttpRequestMessage Kill(Pid pid, params (string Name, string Value)[] headers)
    {
        // What a form posts: a urlencoded body, which a browser sends cross-site without asking first.
        var request = new HttpRequestMessage(HttpMethod.Post, $"{_url}api/processes/kill?pid={Uri.EscapeDataString(pid.ToString())}")
        {
            Content = new FormUrlEncodedContent([]),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        return request;
    }

    [Theory]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData("Origin", "https://attacker.example")]
    public async Task A_kill_posted_from_another_sites_page_is_refused(string header, string value)
    {
        var idle = _node.WhereIs("idle");
        using var answer = await _http.SendAsync(Kill(idle, (header, value)));

        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.StartsWith("Refused: this request came from", await answer.Content.ReadAsStringAsync());
        Assert.True(idle.IsAlive);
    }

    [Fact]
    public async Task A_kill_from_the_dashboards_own_page_or_from_no_page_is_done()
    {
        var idle = _node.WhereIs("idle");
        var origin = new Uri(_url).GetLeftPart(UriPartial.Authority);
        using (var answer = await _http.SendAsync(Kill(idle, ("Sec-Fetch-Site", "same-origin"), ("Origin", origin))))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }

        Assert.False(idle.IsAlive);
        var replacement = await ReplacedAsync(idle);
        using (var answer = await _http.SendAsync(Kill(replacement, ("Origin", origin))))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }

        using (var answer = await _http.SendAsync(Kill(await ReplacedAsync(replacement))))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }
    }

    [Fact]
    public async Task After_a_kill_the_process_list_on_a_watching_page_shows_the_replacement_with_the_next_view()
    {
        var idle = _node.WhereIs("idle");
        await using var page = await ChromiumPage.OpenAsync(_url);
        await page.WaitForAsync($"document.querySelector('#processes tbody').textContent.includes('{idle}')", TimeSpan.FromSeconds(20));

        // Killed by another operator's request (or a crash): the page learns of it only from the views pushed to it.
        var killed = System.Diagnostics.Stopwatch.StartNew();
        using (var answer = await _http.SendAsync(Kill(idle)))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }

        var replacement = await ReplacedAsync(idle);

        // The list was polled every 2 s; a view is pushed within a few hundred milliseconds of the restart.
        await page.WaitForAsync($"document.querySelector('#processes tbody').textContent.includes('{replacement}')", TimeSpan.FromSeconds(10));
        var shownAfter = killed.Elapsed;
        output.WriteLine($"replacement {replacement} listed {shownAfter.TotalMilliseconds:F0} ms after the kill");
        Assert.InRange(shownAfter, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(idle.ToString(), await page.EvaluateAsync("document.querySelector('#processes tbody').textContent"));
    }

    [Fact]
    public async Task The_pages_own_kill_button_kills_and_lists_the_replacement()
    {
        var idle = _node.WhereIs("idle");
        await using var page = await ChromiumPage.OpenAsync(_url);
        await page.WaitForAsync($"document.querySelector('#processes tr[data-pid=\"{idle}\"] button.kill') !== null", TimeSpan.FromSeconds(20));

        // Its confirmation answered yes; chromium sends the page's own Origin and Sec-Fetch-Site: same-origin.
        await page.EvaluateAsync("window.confirm = () => true");
        await page.EvaluateAsync($"document.querySelector('#processes tr[data-pid=\"{idle}\"] button.kill').click()");
        var replacement = await ReplacedAsync(idle);
        await page.WaitForAsync($"document.querySelector('#processes tbody').textContent.includes('{replacement}')", TimeSpan.FromSeconds(10));
        Assert.False(idle.IsAlive);
    }

    private async Task<Pid> ReplacedAsync(Pid previous)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_node.WhereIs("idle") is { IsNone: false } now && now != previous)
            {
                return now;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException("The killed process was not replaced within ten seconds.");
    }
}
