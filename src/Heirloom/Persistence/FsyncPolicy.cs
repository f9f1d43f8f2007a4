namespace Heirloom.Persistence;

/// <summary>When a durable table's journal is forced to disk.</summary>
public enum FsyncPolicy
{
    /// <summary>Before every write returns (group commit: writers waiting at the same time share one fsync).</summary>
    Always,

    /// <summary>Once a second, in the background; a crash loses at most the last second of writes.</summary>
    EverySecond,

    /// <summary>Never forced: written to the operating system once a second; a machine crash may lose more.</summary>
    None,
}
