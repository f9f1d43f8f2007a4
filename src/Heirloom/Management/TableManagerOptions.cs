namespace Heirloom.Management;

/// <summary>How a <see cref="TableManager"/> runs.</summary>
public sealed record TableManagerOptions
{
    /// <summary>A name to register the manager under.</summary>
    public string? Name { get; init; }

    /// <summary>The tables it manages.</summary>
    public IReadOnlyList<ManagedTable> Tables { get; init; } = [];

    /// <summary>The first retry delay of discovery; it doubles on every failure up to <see cref="MaxBackoff"/>, with
    /// jitter. Default 1 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The longest retry delay of discovery. Default 250 ms, kazoo_etsmgr_srv's polling period.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMilliseconds(250);
}
