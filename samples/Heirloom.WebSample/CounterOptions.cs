using System.ComponentModel.DataAnnotations;
using Heirloom.Persistence;

namespace Heirloom.WebSample;

/// <summary>The counters' settings, bound from the "Counters" section.</summary>
public sealed class CounterOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Counters";

    /// <summary>Where the counters' table keeps its journal and snapshots.</summary>
    [Required]
    public string Directory { get; set; } = Path.Combine(Path.GetTempPath(), "heirloom-websample");

    /// <summary>When an acknowledged write is on disk: EverySecond acknowledges once it is in memory and in the
    /// journal's buffer; a worker crash loses nothing, the death of the service's process or of the machine at most
    /// the last second.</summary>
    public FsyncPolicy Fsync { get; set; } = FsyncPolicy.EverySecond;

    /// <summary>Restarts of the counter worker the supervisor allows within <see cref="RestartPeriod"/> before it
    /// gives up (and, by default, stops the application).</summary>
    [Range(1, 100_000)]
    public int MaxRestarts { get; set; } = 500;

    /// <summary>The window <see cref="MaxRestarts"/> counts over.</summary>
    public TimeSpan RestartPeriod { get; set; } = TimeSpan.FromSeconds(5);
}
