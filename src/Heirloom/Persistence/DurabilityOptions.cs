namespace Heirloom.Persistence;

/// <summary>Where and how a durable table keeps its journal and snapshots.</summary>
/// <param name="Directory">The table's directory; created if missing. One open table per directory.</param>
public sealed record DurabilityOptions(string Directory)
{
    /// <summary>The table's directory; created if missing. One open table per directory.</summary>
    /// <exception cref="ArgumentException">The directory is null, empty or blank.</exception>
    public string Directory
    {
        get;
        init => field = Checked(value);
    } = Checked(Directory);

    /// <summary>When the journal is forced to disk. Default <see cref="FsyncPolicy.Always"/>.</summary>
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.Always;

    /// <summary>
    /// A snapshot starts in the background once the journal written since the last one reaches this many bytes; the
    /// journal is then compacted. Default 64 MiB. <see cref="long.MaxValue"/> leaves snapshots to
    /// <see cref="DurableTable.SnapshotAsync{TKey, TValue}"/>.
    /// </summary>
    public long SnapshotAfterBytes
    {
        get;
        init => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(SnapshotAfterBytes), value, "The snapshot threshold must be a positive number of bytes.");
    } = 64L << 20;

    /// <summary>
    /// With <see cref="FsyncPolicy.Always"/>, whether each write returns only once its record is fsynced (true, the
    /// default: a write that returns is on disk) or at once, applied and in the journal, its fsync already started
    /// (false). Then await <see cref="DurableTable.WhenDurableAsync"/> before acknowledging: one writer (a worker that
    /// owns the table) keeps many writes in flight, they share fsyncs, and it can answer each caller when its write is
    /// on disk while it handles the next request. Readers see a write before it is durable; if its fsync fails, the
    /// table is closed (every later operation throws) and the write was never acknowledged.
    /// </summary>
    public bool WritesWaitForFsync { get; init; } = true;

    /// <summary>
    /// Where the table keeps its objects in memory: <see cref="TableStorage.Heap"/> (the default) or
    /// <see cref="TableStorage.OffHeap"/>, for large tables, encoded by the table's codecs outside the GC heap. The
    /// journal, snapshots and recovery are the same over either; a directory written with one opens with the other.
    /// </summary>
    public TableStorage Storage { get; init; } = TableStorage.Heap;

    /// <summary>The file layer the table writes through: the operating system's, or one that injects faults.</summary>
    internal DurableFileSystem FileSystem { get; init; } = DurableFileSystem.Real;

    /// <summary>A directory named by nothing is a missing setting more often than not: say so, and how to name one.</summary>
    private static string Checked(string directory) => string.IsNullOrWhiteSpace(directory)
        ? throw new ArgumentException(
            $"DurabilityOptions.Directory is {(directory is null ? "null" : "empty")}: give the directory the table keeps its journal and snapshots in, " +
            "e.g. Path.Combine(builder.Environment.ContentRootPath, \"data\", \"carts\"), or from configuration (check that the setting is present).",
            nameof(Directory))
        : directory;
}
