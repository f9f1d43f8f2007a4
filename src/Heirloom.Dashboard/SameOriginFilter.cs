using Microsoft.AspNetCore.Http;

namespace Heirloom.Dashboard;

/// <summary>
/// Refuses a state-changing request another site made a browser send (cross-site request forgery): a form on a page
/// elsewhere, posted with the user's cookies. Browsers say where a request comes from in <c>Sec-Fetch-Site</c>, and
/// older ones in <c>Origin</c>; a request with neither came from no browser page (curl, a script), which cookies
/// cannot be borrowed by, and passes.
/// </summary>
internal sealed class SameOriginFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Refusal(context.HttpContext.Request) is { } why
            ? ValueTask.FromResult<object?>(Results.Text(why, statusCode: StatusCodes.Status403Forbidden))
            : next(context);

    /// <summary>Why the request is refused; null when it is from the dashboard's own page, or from no page.</summary>
    internal static string? Refusal(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            // "none" is a request the user made (typed, bookmarked); "same-site" may be another application on a
            // sibling host, so it is refused like "cross-site".
            return site is "same-origin" or "none"
                ? null
                : $"Refused: this request came from another site (Sec-Fetch-Site: {site}); the dashboard changes state only for its own page.";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return null;
        }

        // The authority only: behind a proxy that ends TLS the request's scheme may differ from the page's.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"Refused: this request came from {origin}, not from the dashboard's own page; the dashboard changes state only for its own page.";
    }
}
