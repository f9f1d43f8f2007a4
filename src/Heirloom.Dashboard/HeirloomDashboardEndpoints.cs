using System.Text.Json;
using Heirloom.Processes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Heirloom.Dashboard;

/// <summary>Maps the dashboard into an ASP.NET Core application.</summary>
public static class HeirloomDashboardEndpoints
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Maps the dashboard of the application's <see cref="Node"/> (from DI, as <c>AddHeirloom</c> registers it) under
    /// <paramref name="prefix"/>. It binds nothing itself, is read-only unless <see cref="DashboardOptions.AllowKill"/>,
    /// and returns the route group, so <c>.RequireAuthorization(...)</c> protects all of it. Its kill endpoint refuses
    /// (403) a request sent from another site's page, so a cookie-authenticated user cannot be made to kill a process
    /// by a page elsewhere.
    /// </summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="prefix">Where the page is; default <c>/heirloom</c>.</param>
    /// <param name="configure">Sets options.</param>
    public static RouteGroupBuilder MapHeirloomDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/heirloom", Action<DashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapHeirloomDashboard(endpoints.ServiceProvider.GetRequiredService<Node>(), prefix, configure);
    }

    /// <summary>Maps the dashboard of <paramref name="node"/>; see
    /// <see cref="MapHeirloomDashboard(IEndpointRouteBuilder, string, Action{DashboardOptions}?)"/>.</summary>
    /// <param name="endpoints">The application.</param>
    /// <param name="node">The node to show.</param>
    /// <param name="prefix">Where the page is; default <c>/heirloom</c>.</param>
    /// <param name="configure">Sets options.</param>
    public static RouteGroupBuilder MapHeirloomDashboard(this IEndpointRouteBuilder endpoints, Node node, string prefix = "/heirloom", Action<DashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(node);
        var options = new DashboardOptions();
        configure?.Invoke(options);
        var observer = new NodeObserver(node);
        endpoints.ServiceProvider.GetService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>()?.ApplicationStopped.Register(observer.Dispose);

        var group = endpoints.MapGroup(prefix);
        group.MapGet("/", (HttpContext context) => context.Request.Path.Value?.EndsWith('/') == true
            ? Asset("index.html", "text/html; charset=utf-8")
            : Results.Redirect(context.Request.PathBase + context.Request.Path + "/"));
        group.MapGet("/app.js", () => Asset("app.js", "text/javascript; charset=utf-8"));
        group.MapGet("/app.css", () => Asset("app.css", "text/css; charset=utf-8"));
        group.MapGet("/api/snapshot", async () => Results.Json(await observer.SnapshotAsync(), s_json));
        group.MapGet("/api/options", () => Results.Json(new { allowKill = options.AllowKill }, s_json));
        group.MapGet("/api/processes", (string? filter, string? sort, bool? desc) =>
            Results.Json(observer.Processes(filter, sort, desc ?? false, options.MaxProcessRows), s_json));
        group.MapGet("/api/events", (HttpContext context) => StreamAsync(context, observer, options.UpdateInterval));
        if (options.AllowKill)
        {
            // A kill is the one request that changes anything: refused when another site's page sent it.
            group.MapPost("/api/processes/kill", (string pid) => observer.Kill(pid) ? Results.NoContent() : Results.NotFound())
                .AddEndpointFilter<SameOriginFilter>();
        }

        return group;
    }

    /// <summary>
    /// Server-sent events: a snapshot now, after every interval, and soon after each report (a crash, a restart), so a
    /// page sees a restart within a fraction of a second; never more than one each <see cref="MinimumGap"/>, so a
    /// storm of crashes costs no more than ten snapshots a second.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, NodeObserver observer, TimeSpan interval)
    {
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var aborted = context.RequestAborted;
        using var watching = observer.Watch();
        var rest = interval > MinimumGap ? interval - MinimumGap : TimeSpan.Zero;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                // Taken before the snapshot: a report while it is made or sent brings the next one forward.
                var change = observer.NextChangeAsync();
                var json = JsonSerializer.Serialize(await observer.SnapshotAsync(), s_json);
                await context.Response.WriteAsync($"data: {json}\n\n", aborted);
                await context.Response.Body.FlushAsync(aborted);
                await Task.Delay(MinimumGap, aborted);
                await Task.WhenAny(Task.Delay(rest, aborted), change);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The page went away.
        }
    }

    private static readonly TimeSpan MinimumGap = TimeSpan.FromMilliseconds(100);

    private static IResult Asset(string name, string contentType)
    {
        var stream = typeof(HeirloomDashboardEndpoints).Assembly.GetManifestResourceStream("wwwroot/" + name)
            ?? throw new InvalidOperationException($"The dashboard's {name} is missing from its assembly.");
        return Results.Stream(stream, contentType);
    }
}
