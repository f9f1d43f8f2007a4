using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Conformance.Runtime;

/// <summary>
/// One scenario's lines, in the order they were written, and the normalisation both sides share: a reason prints as
/// Erlang's atom (normal, shutdown, killed, noproc, a custom atom) and any exception, as any crash term in Erlang, as
/// "error". A dead process writes nothing, as a dead Erlang process sends nothing.
/// </summary>
internal sealed class Trace
{
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];

    public void Line(string line)
    {
        if (ProcessContext.Current is { } current && !current.Self.IsAlive)
        {
            return;
        }

        lock (_lock)
        {
            _lines.Add(line);
        }
    }

    public IReadOnlyList<string> Lines()
    {
        lock (_lock)
        {
            return [.. _lines];
        }
    }

    /// <summary>A trace for one supervisor child: its lines start with its id.</summary>
    public Action<string> Named(string id) => line => Line($"{id} {line}");

    public static string Reason(ExitReason reason) => reason.Kind switch
    {
        ExitReasonKind.Exception => "error",
        ExitReasonKind.Custom => reason.Term as string ?? "error",
        _ => reason.ToString(),
    };

    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>OTP's count_children list, as <c>~w</c> prints it.</summary>
    public static string Counts(ChildCounts counts) =>
        $"[{{specs,{counts.Specs}}},{{active,{counts.Active}}},{{supervisors,{counts.Supervisors}}},{{workers,{counts.Workers}}}]";
}
