namespace Heirloom.Persistence;

/// <summary>Where and how a durable table keeps its journal.</summary>
/// <param name="Directory">The table's directory; created if missing. One table per directory.</param>
public sealed record DurabilityOptions(string Directory)
{
    /// <summary>When the journal is forced to disk. Default <see cref="FsyncPolicy.Always"/>.</summary>
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.Always;
}
