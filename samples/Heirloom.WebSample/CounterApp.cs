using Heirloom.Dashboard;
using Heirloom.Diagnostics;
using Heirloom.Hosting;
using Heirloom.Postgres;
using Heirloom.Routing;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Heirloom.WebSample;

/// <summary>
/// A counter service: per-user counts in a durable table owned by one worker process, under a supervisor with a table
/// manager as the table's heir, so a crashing worker loses no acknowledged count and its replacement carries on. With
/// <c>Heirloom:Cluster:ConnectionString</c> set, the counts are a clustered table in PostgreSQL instead, and any number
/// of replicas serve every request: each routes it to the worker of whichever replica owns the table.
/// </summary>
public static class CounterApp
{
    /// <summary>Builds the application; <paramref name="configure"/> may change its configuration or services.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddOptions<CounterOptions>().Bind(builder.Configuration.GetSection(CounterOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        var heirloom = builder.Services.AddHeirloom(builder.Configuration.GetSection(HeirloomOptions.SectionName));
        if (string.IsNullOrEmpty(builder.Configuration["Heirloom:Cluster:ConnectionString"]))
        {
            heirloom.AddManagedTable<CounterWorker>(CounterEndpoints.TableName, Counters);
        }
        else
        {
            heirloom.AddPostgresCluster(builder.Configuration.GetSection("Heirloom:Cluster"))
                .AddClusteredTable<CounterWorker>(CounterEndpoints.TableName, ClusteredCounters)
                .AddNodeRouter(builder.Configuration.GetSection("Heirloom:Router"), codecs => codecs.Register<CounterWorker.Increment>().Register<CounterWorker.Read>());
        }

        builder.Services.AddHealthChecks()
            .AddCheck<HeirloomHealthCheck>("heirloom", tags: ["live", "ready"])
            .AddCheck<ManagedTablesHealthCheck>("heirloom-tables", tags: ["ready"])
            .AddCheck<DurableTablesHealthCheck>("heirloom-journals", tags: ["live", "ready"]);
        ExportOverOtlp(builder);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapCounters();
        app.MapHealthChecks("/health/live", Health("live"));
        app.MapHealthChecks("/health/ready", Health("ready"));

        // The observer page, only when asked for (Dashboard:Enabled); put it behind authorization in production.
        if (app.Configuration.GetValue<bool>("Dashboard:Enabled"))
        {
            app.MapHeirloomDashboard("/heirloom", options => options.AllowKill = app.Configuration.GetValue<bool>("Dashboard:AllowKill"));
        }
        return app;
    }

    /// <summary>The counters' table: durable in the configured directory, its writes acknowledged by the configured
    /// fsync policy, and as many worker restarts tolerated as configured. The manager, the table's heir, hands it to
    /// each new worker, so a crashing worker loses no acknowledged count; a manager that dies takes the worker down
    /// with it, and the new manager opens the table again from its directory.</summary>
    private static void Counters(ManagedTableSettings table)
    {
        var options = table.Services.GetRequiredService<IOptions<CounterOptions>>().Value;
        table.Durable(options.Directory, options.Fsync);
        table.MaxRestarts = options.MaxRestarts;
        table.RestartPeriod = options.RestartPeriod;
    }

    /// <summary>The counters' clustered table: the worker answers an increment once PostgreSQL has committed it
    /// (<c>ReplyWhenDurable</c>), so the writes of concurrent requests share commits.</summary>
    private static void ClusteredCounters(ClusteredTableSettings table)
    {
        var options = table.Services.GetRequiredService<IOptions<CounterOptions>>().Value;
        table.WritesWaitForCommit = false;
        table.MaxRestarts = options.MaxRestarts;
        table.RestartPeriod = options.RestartPeriod;
    }

    /// <summary>The checks with this tag, answered with each check's status, description and data.</summary>
    private static HealthCheckOptions Health(string tag) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResponseWriter = (context, report) =>
        {
            context.Response.ContentType = HealthReportWriter.ContentType;
            return HealthReportWriter.WriteJsonAsync(context.Response.Body, report, context.RequestAborted);
        },
    };

    /// <summary>Exports Heirloom's metrics and call traces over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
    /// (the exporter reads the standard OTEL_* settings from configuration); the host starts and flushes the
    /// exporters.</summary>
    private static void ExportOverOtlp(WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return;
        }

        // The request's own activity is traced too: a call's activity is its child, and an unrecorded parent would
        // leave the call unsampled.
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(HeirloomInstrumentation.MeterName).AddOtlpExporter())
            .WithTracing(traces => traces.AddSource("Microsoft.AspNetCore", HeirloomInstrumentation.ActivitySourceName).AddOtlpExporter());
    }
}
