using System.Collections.Concurrent;
using Heirloom.Behaviours;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.WebSample;

/// <summary>The HTTP API: writes go through the worker, reads go straight to the table.</summary>
public static class CounterEndpoints
{
    /// <summary>The table's name.</summary>
    public const string TableName = "counters";

    /// <summary>Maps <c>POST /counters/{user}</c> (add one; 200 with the new count once acknowledged, 503 when the
    /// worker is being replaced), <c>GET /counters/{user}</c>, and the same two on a plain
    /// <see cref="ConcurrentDictionary{TKey, TValue}"/> under <c>/baseline</c> to compare against.</summary>
    public static IEndpointRouteBuilder MapCounters(this IEndpointRouteBuilder app)
    {
        app.MapPost("/counters/{user}", async (string user, Node node, CancellationToken aborted) =>
        {
            try
            {
                var count = await GenServer.CallAsync<long>(node, CounterWorker.Name, new CounterWorker.Increment(user, 1), TimeSpan.FromSeconds(5), aborted);
                return Results.Ok(count);
            }
            catch (CallFailedException)
            {
                // The worker died or is being restarted: the write may or may not have happened, and was not
                // acknowledged. The client retries.
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
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
