namespace Heirloom.Diagnostics;

/// <summary>
/// The names under which Heirloom publishes its telemetry. Every <see cref="Processes.Node"/> publishes metrics on a
/// meter named <see cref="MeterName"/> (made by the meter factory given to the node, when one is),
/// and GenServer calls are traced on an <see cref="System.Diagnostics.ActivitySource"/> named
/// <see cref="ActivitySourceName"/>. With OpenTelemetry: <c>.WithMetrics(m =&gt; m.AddMeter(MeterName))</c> and
/// <c>.WithTracing(t =&gt; t.AddSource(ActivitySourceName))</c>.
/// </summary>
/// <remarks>
/// Instruments: <c>heirloom.process.count</c>, <c>heirloom.mailbox.length</c>, <c>heirloom.table.count</c> and
/// <c>heirloom.table.size</c> (observed, the last tagged <c>heirloom.table</c>); <c>heirloom.process.crashes</c>,
/// <c>heirloom.supervisor.restarts</c>, <c>heirloom.table.transfers</c> and <c>heirloom.table.storage_failures</c>
/// (counters); <c>heirloom.journal.fsync.duration</c> (seconds) and <c>heirloom.journal.group_commit.size</c> (records
/// made durable by one fsync), histograms tagged <c>heirloom.table</c>. Every measurement carries
/// <c>heirloom.node</c>, the node's id.
/// </remarks>
public static class HeirloomInstrumentation
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Heirloom";

    /// <summary>The activity source's name; each GenServer call is an activity named <c>heirloom.call</c>.</summary>
    public const string ActivitySourceName = "Heirloom";
}
