using Heirloom.Persistence;
using Heirloom.Tables;

namespace Heirloom.Hosting;

/// <summary>
/// How a table registered with <see cref="HeirloomManagedTableExtensions.AddManagedTable{TWorker}"/> is kept: in memory
/// or durable, its access and type, its codecs, and how many worker crashes its supervisor tolerates. Set when the host
/// starts, from <see cref="Services"/> if need be.
/// </summary>
public sealed class ManagedTableSettings
{
    internal ManagedTableSettings(IServiceProvider services) => Services = services;

    /// <summary>The host's services, to read options or configuration from.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Where and how the table is persisted; null (the default) keeps it in memory only, surviving worker
    /// crashes but not the OS process.</summary>
    public DurabilityOptions? Durability { get; set; }

    /// <summary>Who may read and write the table. Default <see cref="TableAccess.Protected"/>: the worker writes,
    /// every thread reads.</summary>
    public TableAccess Access { get; set; } = TableAccess.Protected;

    /// <summary>The table's type. Default <see cref="TableType.Set"/>.</summary>
    public TableType Type { get; set; } = TableType.Set;

    /// <summary>How a durable table writes its keys: an <c>ICodec&lt;TKey&gt;</c>. Default null: the built-in codec
    /// for the key type, else <see cref="JsonCodec{T}"/>.</summary>
    public object? KeyCodec { get; set; }

    /// <summary>How a durable table writes its values: an <c>ICodec&lt;TValue&gt;</c>. Default null: the built-in codec
    /// for the value type, else <see cref="JsonCodec{T}"/> (name the type with <see cref="CodecNameAttribute"/> so
    /// that renaming it keeps its files readable).</summary>
    public object? ValueCodec { get; set; }

    /// <summary>Worker restarts the table's supervisor allows within <see cref="RestartPeriod"/> before it gives up.
    /// Default 500 (100 a second over the default period): a worker crash costs only the request that caused it, so
    /// a burst of crashes should not take the service down.</summary>
    public int MaxRestarts { get; set; } = 500;

    /// <summary>The window <see cref="MaxRestarts"/> counts over. Default 5 seconds.</summary>
    public TimeSpan RestartPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Makes the table durable in <paramref name="directory"/>. Writes do not each wait for their fsync
    /// (<see cref="DurabilityOptions.WritesWaitForFsync"/> off): the worker answers a write with
    /// <c>ReplyWhenDurable</c>, so that it is acknowledged once on disk (with <see cref="FsyncPolicy.Always"/>) while
    /// the writes of many requests share fsyncs.
    /// </summary>
    /// <param name="directory">The table's directory (its journal and snapshots).</param>
    /// <param name="fsync">When an acknowledged write is on disk. Default <see cref="FsyncPolicy.Always"/>.</param>
    /// <returns>These settings.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or empty.</exception>
    public ManagedTableSettings Durable(string directory, FsyncPolicy fsync = FsyncPolicy.Always)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Durability = new DurabilityOptions(directory) { Fsync = fsync, WritesWaitForFsync = false };
        return this;
    }
}
