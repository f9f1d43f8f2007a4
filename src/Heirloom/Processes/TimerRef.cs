namespace Heirloom.Processes;

/// <summary>
/// A reference to one timer started by <see cref="ProcessContext.SendAfter(Pid, object, TimeSpan)"/>,
/// <see cref="ProcessContext.StartTimer(TimeSpan, object)"/> or their kin on <see cref="Node"/>, unique within its node
/// (Erlang's <c>TimerRef</c>). It cancels or reads the timer, and names it in <see cref="TimerFired"/>.
/// </summary>
/// <param name="Id">The timer's number, unique within the node; 0 (the default value) names no timer.</param>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public readonly record struct TimerRef(long Id)
{
    /// <summary>Prints the reference like Erlang's <c>#Ref&lt;...&gt;</c>.</summary>
    public override string ToString() => $"#Ref<timer.{Id}>";
}
