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

    /// <summary>
    /// The process exit code (<see cref="Environment.ExitCode"/>) set when a root supervision tree gives up and stops
    /// the application, so a process manager (systemd, Kubernetes, a container runtime) sees a failure and restarts the
    /// service; default 1. Null leaves the exit code alone (the process then exits 0). It is not set when another
    /// code was set already, nor when <see cref="StopApplicationWhenRootGivesUp"/> is off. A <c>Main</c> that returns an
    /// int must return <see cref="Environment.ExitCode"/> for it to take effect.
    /// </summary>
    public int? ExitCodeWhenRootGivesUp { get; set; } = 1;

    /// <summary>How long stopping the whole node may take, all its root trees together, before the processes left are
    /// killed; default 5 seconds. It must be less than the host's own shutdown timeout
    /// (<c>HostOptions.ShutdownTimeout</c>, 30 seconds by default), which bounds every hosted service's stop.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long written records may wait for an fsync before <see cref="DurableTablesHealthCheck"/> reports
    /// the journal degraded; default 5 seconds (a journal with <c>FsyncPolicy.EverySecond</c> syncs every second).</summary>
    public TimeSpan FsyncLagLimit { get; set; } = TimeSpan.FromSeconds(5);
}
