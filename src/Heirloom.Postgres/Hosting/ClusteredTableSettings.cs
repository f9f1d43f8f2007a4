using Heirloom.Persistence;
using Heirloom.Tables;

namespace Heirloom.Postgres;

/// <summary>
/// How a clustered table registered with <see cref="HeirloomClusterExtensions.AddClusteredTable{TWorker}"/> is served:
/// its type and access, how writes are acknowledged, its codecs, and how many worker crashes its supervisor tolerates.
/// Bound from the cluster's configuration section <c>Tables:{name}</c> when the cluster was added from configuration,
/// then set in code.
/// </summary>
public sealed class ClusteredTableSettings
{
    internal ClusteredTableSettings(IServiceProvider services) => Services = services;

    /// <summary>The host's services, to read options or configuration from.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The table's type; every node must agree. Default <see cref="TableType.Set"/>.</summary>
    public TableType Type { get; set; } = TableType.Set;

    /// <summary>Who may read and write the table on the owning node. Default <see cref="TableAccess.Protected"/>.</summary>
    public TableAccess Access { get; set; } = TableAccess.Protected;

    /// <summary>Whether a write returns only once PostgreSQL has committed it. Default true, as for
    /// <see cref="ClusteredTableOptions.WritesWaitForCommit"/>; turn it off when the worker answers writes with
    /// <c>ReplyWhenDurable</c>, so that the writes of many requests share commits.</summary>
    public bool WritesWaitForCommit { get; set; } = true;

    /// <summary>A local journal directory that acknowledges writes before PostgreSQL has them
    /// (<see cref="ClusteredTableOptions.LocalJournal"/>); null (the default) acknowledges on commit.</summary>
    public string? LocalJournalDirectory { get; set; }

    /// <summary>With <see cref="LocalJournalDirectory"/>, the most acknowledged writes that may wait to be shipped.
    /// Default 10,000.</summary>
    public int MaxUnshippedWrites { get; set; } = 10_000;

    /// <summary>How keys are written to PostgreSQL: an <c>ICodec&lt;TKey&gt;</c>. Default null: the built-in codec for
    /// the key type, else <see cref="JsonCodec{T}"/>.</summary>
    public object? KeyCodec { get; set; }

    /// <summary>How values are written to PostgreSQL: an <c>ICodec&lt;TValue&gt;</c>. Default null: the built-in codec
    /// for the value type, else <see cref="JsonCodec{T}"/> (name the type with <see cref="CodecNameAttribute"/>).</summary>
    public object? ValueCodec { get; set; }

    /// <summary>Worker restarts the table's supervisor allows within <see cref="RestartPeriod"/> before it gives up.
    /// Default 500: a worker crash costs only the request that caused it.</summary>
    public int MaxRestarts { get; set; } = 500;

    /// <summary>The window <see cref="MaxRestarts"/> counts over. Default 5 seconds.</summary>
    public TimeSpan RestartPeriod { get; set; } = TimeSpan.FromSeconds(5);
}
