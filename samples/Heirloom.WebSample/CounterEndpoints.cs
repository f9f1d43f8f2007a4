using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Hosting;
using Heirloom.Processes;
using Heirloom.Routing;
using Heirloom.Tables;

namespace Heirloom.WebSample;

/// <summary>The HTTP API: writes go through the worker; reads go straight to the table on one node, through the owner's
/// worker in a cluster.</summary>
public static class CounterEndpoints
{
    /// <summary>The table's name.</summary>
    public const string TableName = "counters";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Maps <c>POST /counters/{user}</c> (add one; 200 with the new count once acknowledged, 503 when the
    /// worker did not take the request, as when it is being replaced), <c>GET /counters/{user}</c>, and the same two on a plain
    /// <see cref="ConcurrentDictionary{TKey, TValue}"/> under <c>/baseline</c> to compare against. With a
    /// <see cref="NodeRouter"/> (the cluster mode), both counter endpoints go to the worker of the replica that owns the
    /// table, wherever it is.</summary>
    public static IEndpointRouteBuilder MapCounters(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetRequiredService<IServiceProviderIsService>().IsService(typeof(NodeRouter)))
        {
            MapRoutedCounters(app);
        }
        else
        {
            MapLocalCounters(app);
        }

        var baseline = new ConcurrentDictionary<string, long>();
        app.MapPost("/baseline/counters/{user}", (string user) => Results.Ok(baseline.AddOrUpdate(user, 1, (_, count) => count + 1)));
        app.MapGet("/baseline/counters/{user}", (string user) => Results.Ok(baseline.TryGetValue(user, out var count) ? count : 0));
        return app;
    }

    /// <summary>One node: writes go through the worker, reads go straight to the table.</summary>
    private static void MapLocalCounters(IEndpointRouteBuilder app)
    {
        app.MapPost("/counters/{user}", async (string user, GenServerClient<CounterWorker> counters, CancellationToken aborted) =>
        {
            try
            {
                return Results.Ok(await counters.CallAsync<long>(new CounterWorker.Increment(user, 1), Timeout, aborted));
            }
            catch (CallFailedException e)
            {
                return Results.StatusCode(StatusOf(e));
            }
        });
        app.MapGet("/counters/{user}", (string user, Node node) =>
            node.Tables.WhereIs<string, long>(TableName) is { } table
                ? Results.Ok(table.TryGetValue(user, out var count) ? count : 0)
                : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
    }

    /// <summary>A replica of a cluster: writes and reads are calls to the worker of the replica that owns the table
    /// now, through the router, so every replica answers the same.</summary>
    private static void MapRoutedCounters(IEndpointRouteBuilder app)
    {
        app.MapPost("/counters/{user}", (string user, NodeRouter router, CancellationToken aborted) =>
            RouteAsync(router, new CounterWorker.Increment(user, 1), aborted));
        app.MapGet("/counters/{user}", (string user, NodeRouter router, CancellationToken aborted) =>
            RouteAsync(router, new CounterWorker.Read(user), aborted));
    }

    private static async Task<IResult> RouteAsync(NodeRouter router, object request, CancellationToken aborted)
    {
        try
        {
            return Results.Ok(await router.CallAsync<long>(TableName, request, Timeout, aborted));
        }
        catch (CallFailedException e)
        {
            return Results.StatusCode(StatusOf(e));
        }
        catch (RoutedCallFailedException e)
        {
            // The owner's worker exited, or the owner was lost after it got the request: 503 when it never started it
            // (not applied), 500 when the outcome is unknown.
            return Results.StatusCode(e.HandlerStarted ? StatusCodes.Status500InternalServerError : StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>Not acknowledged. When the worker had not started the request (it was dead, being replaced, or too busy
    /// to reach it in time), the write did not happen and the client may retry (503). When it had, the outcome is
    /// unknown: 504 for a timeout, 500 for a crash in the handler.</summary>
    private static int StatusOf(CallFailedException e) => e switch
    {
        { HandlerStarted: false } => StatusCodes.Status503ServiceUnavailable,
        CallTimeoutException => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };
}
