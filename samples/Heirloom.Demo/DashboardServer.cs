using Heirloom.Dashboard;
using Heirloom.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Heirloom.Demo;

/// <summary>The observer page for the demo's node, on a free loopback port, for as long as the demo runs.</summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app) => _app = app;

    public string Url => _app.Urls.Single() + "/heirloom/";

    public static async Task<DashboardServer> StartAsync(Node node)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapHeirloomDashboard(node);
        await app.StartAsync();
        return new DashboardServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
