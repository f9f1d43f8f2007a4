using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Hosting;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.WebSample;

/// <summary>The HTTP API: writes go through the worker, reads go straight to the table.</summary>
public static class CounterEndpoints
{
    /// <summary>The table's name.</summary>
    public const string TableName = "counters";

    /// <summary>Maps <c>POST /counters/{user}</c> (add one; 200 with the new count once acknowledged, 503 when the
    /// worker did not take the request, as when it is being replaced), <c>GET /counters/{user}</c>, and the same two on a plain
    /// <see cref="ConcurrentDictionary{TKey, TValue}"/> under <c>/baseline</c> to compare against.</summary>
    public static IEndpointRouteBuilder MapCounters(this IEndpointRouteBuilder app)
    {
        app.MapPost("/counters/{user}", async (string user, GenServerClient<CounterWorker> counters, CancellationToken aborted) =>
        {
            try
            {
                var count = await counters.CallAsync<long>(new CounterWorker.Increment(user, 1), TimeSpan.FromSeconds(5), aborted);
                return Results.Ok(count);
            }
            catch (CallFailedException e)
            {
                // Not acknowledged. When the worker had not started the request (it was dead, being replaced, or too
                // busy to reach it in time), the write did not happen and the client may retry (503). When it had,
                // the outcome is unknown: 504 for a timeout, 500 for a crash in the handler.
                return Results.StatusCode(e switch
                {
                    { HandlerStarted: false } => StatusCodes.Status503ServiceUnavailable,
                    CallTimeoutException => StatusCodes.Status504GatewayTimeout,
                    _ => StatusCodes.Status500InternalServerError,
                });
            }
        });
        app.MapGet("/counters/{user}", (string user, Node node) =>
            node.Tables.WhereIs<string, long>(TableName) is { } table
                ? Results.Ok(table.TryGetValue(user, out var count) ? count : 0)
                : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));

        var baseline = new ConcurrentDictionary<string, long>();
        app.MapPost("/baseline/counters/{user}", (string user) => Results.Ok(baseline.AddOrUpdate(user, 1, (_, count) => count + 1)));
        app.MapGet("/baseline/counters/{user}", (string user) => Results.Ok(baseline.TryGetValue(user, out var count) ? count : 0));
        return app;
    }
}
