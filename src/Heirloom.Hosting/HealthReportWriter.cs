using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Heirloom.Hosting;

/// <summary>
/// Writes a health report as JSON with each check's status, description, duration, error and data, where the
/// default health endpoint answers a bare "Unhealthy". In ASP.NET Core:
/// <code>
/// app.MapHealthChecks("/health/ready", new HealthCheckOptions
/// {
///     ResponseWriter = (context, report) =&gt;
///     {
///         context.Response.ContentType = HealthReportWriter.ContentType;
///         return HealthReportWriter.WriteJsonAsync(context.Response.Body, report, context.RequestAborted);
///     },
/// });
/// </code>
/// The endpoint's status code stays the health middleware's (503 when unhealthy). Descriptions and data can name
/// tables, directories and errors: map such an endpoint where only operators and probes reach it.
/// </summary>
public static class HealthReportWriter
{
    /// <summary>The content type of what <see cref="WriteJsonAsync"/> writes.</summary>
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>
    /// Writes <paramref name="report"/>: <c>{"status":"Unhealthy","durationMs":1.2,"checks":{"heirloom":
    /// {"status":"Unhealthy","description":"1 of 1 root supervision trees gave up.","durationMs":0.1,"data":{...}}}}</c>.
    /// A check's <c>error</c> is its exception's message (not its stack trace); data values that are numbers or
    /// booleans stay so, others are written as text.
    /// </summary>
    /// <param name="stream">Where to write, e.g. the response body.</param>
    /// <param name="report">The report.</param>
    /// <param name="cancellationToken">Stops the write.</param>
    public static async Task WriteJsonAsync(Stream stream, HealthReport report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(report);
        await using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 3));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            WriteEntry(json, entry);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteEntry(Utf8JsonWriter json, HealthReportEntry entry)
    {
        json.WriteString("status", entry.Status.ToString());
        if (entry.Description is { } description)
        {
            json.WriteString("description", description);
        }

        json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 3));
        if (entry.Exception is { } exception)
        {
            json.WriteString("error", exception.Message);
        }

        if (entry.Tags.Any())
        {
            json.WriteStartArray("tags");
            foreach (var tag in entry.Tags)
            {
                json.WriteStringValue(tag);
            }

            json.WriteEndArray();
        }

        if (entry.Data.Count > 0)
        {
            json.WriteStartObject("data");
            foreach (var (key, value) in entry.Data)
            {
                json.WritePropertyName(key);
                WriteValue(json, value);
            }

            json.WriteEndObject();
        }
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                json.WriteNumberValue(Convert.ToDecimal(value, CultureInfo.InvariantCulture));
                break;
            case decimal number:
                json.WriteNumberValue(number);
                break;
            case double or float when double.IsFinite(Convert.ToDouble(value, CultureInfo.InvariantCulture)):
                json.WriteNumberValue(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
