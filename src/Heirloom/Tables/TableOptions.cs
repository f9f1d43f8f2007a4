using Heirloom.Processes;

namespace Heirloom.Tables;

/// <summary>How a table is created (the options of <c>ets:new/2</c>).</summary>
public sealed record TableOptions
{
    /// <summary>The table type. Default <see cref="TableType.Set"/>.</summary>
    public TableType Type { get; init; } = TableType.Set;

    /// <summary>Who may read and write. Default <see cref="TableAccess.Protected"/>.</summary>
    public TableAccess Access { get; init; } = TableAccess.Protected;

    /// <summary>A name to find the table by on its node (<c>named_table</c>); null for an unnamed table.</summary>
    public string? Name { get; init; }

    /// <summary>The process that inherits the table when its owner exits; <see cref="Pid.None"/> for none.
    /// A pid that is already dead is recorded as none, as ETS does.</summary>
    public Pid Heir { get; init; }

    /// <summary>Sent to the heir in its <see cref="TableTransfer"/>.</summary>
    public object? HeirData { get; init; }
}
