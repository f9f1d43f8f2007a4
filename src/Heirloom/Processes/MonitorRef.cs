namespace Heirloom.Processes;

/// <summary>A reference to one monitor, unique within its node. It names the monitor in <see cref="Down"/>.</summary>
/// <param name="Id">The monitor's number, unique within the node.</param>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public readonly record struct MonitorRef(long Id)
{
    /// <summary>Prints the reference like Erlang's <c>#Ref&lt;...&gt;</c>.</summary>
    public override string ToString() => $"#Ref<{Id}>";
}
