namespace Heirloom.Hosting;

/// <summary>How the host runs its Heirloom node; bindable from configuration (section "Heirloom") and validated when
/// the host starts.</summary>
public sealed class HeirloomOptions
{
    /// <summary>The configuration section these options bind from by convention.</summary>
    public const string SectionName = "Heirloom";

    /// <summary>
    /// Whether a root supervision tree that gives up (its restart intensity exceeded) stops the application, as
    /// <c>BackgroundServiceExceptionBehavior.StopHost</c> does for a failed background service. Default true: a
    /// service whose supervision tree is gone should not keep answering requests it can no longer serve.
    /// </summary>
    public bool StopApplicationWhenRootGivesUp { get; set; } = true;

    /// <summary>How long stopping the node may take before the processes left are killed; default 5 seconds. Keep it
    /// within the host's own shutdown timeout.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long written records may wait for an fsync before <see cref="DurableTablesHealthCheck"/> reports
    /// the journal degraded; default 5 seconds (a journal with <c>FsyncPolicy.EverySecond</c> syncs every second).</summary>
    public TimeSpan FsyncLagLimit { get; set; } = TimeSpan.FromSeconds(5);
}
