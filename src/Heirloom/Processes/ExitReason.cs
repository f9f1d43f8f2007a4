namespace Heirloom.Processes;

/// <summary>
/// Why a process exited, or the reason carried by an exit signal. Mirrors Erlang's exit reasons:
/// <c>normal</c>, <c>shutdown</c>, <c>kill</c>, <c>killed</c>, <c>noproc</c>, an exception, or any other term.
/// </summary>
public sealed class ExitReason : IEquatable<ExitReason>
{
    private ExitReason(ExitReasonKind kind, Exception? exception = null, object? term = null)
    {
        Kind = kind;
        Exception = exception;
        Term = term;
    }

    /// <summary>The process finished its work; linked processes are not killed.</summary>
    public static ExitReason Normal { get; } = new(ExitReasonKind.Normal);

    /// <summary>An orderly stop requested by a supervisor or the node.</summary>
    public static ExitReason Shutdown { get; } = new(ExitReasonKind.Shutdown);

    /// <summary>The untrappable kill: the target dies with <see cref="Killed"/>.</summary>
    public static ExitReason Kill { get; } = new(ExitReasonKind.Kill);

    /// <summary>The reason of a process that was killed.</summary>
    public static ExitReason Killed { get; } = new(ExitReasonKind.Killed);

    /// <summary>The pid named no live process.</summary>
    public static ExitReason NoProc { get; } = new(ExitReasonKind.NoProc);

    /// <summary>What kind of reason this is.</summary>
    public ExitReasonKind Kind { get; }

    /// <summary>The unhandled exception, when <see cref="Kind"/> is <see cref="ExitReasonKind.Exception"/>.</summary>
    public Exception? Exception { get; }

    /// <summary>The user's term, when <see cref="Kind"/> is <see cref="ExitReasonKind.Custom"/>.</summary>
    public object? Term { get; }

    /// <summary>True for <see cref="Normal"/>: the only reason that does not kill non-trapping linked processes.</summary>
    public bool IsNormal => Kind == ExitReasonKind.Normal;

    /// <summary>True for <see cref="Normal"/> and <see cref="Shutdown"/>: the reasons OTP does not report as crashes.</summary>
    public bool IsNormalOrShutdown => Kind is ExitReasonKind.Normal or ExitReasonKind.Shutdown;

    /// <summary>A reason carrying an unhandled exception.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static ExitReason Error(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new ExitReason(ExitReasonKind.Exception, exception);
    }

    /// <summary>A reason carrying any term, like Erlang's <c>exit(Term)</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="term"/> is null.</exception>
    public static ExitReason Custom(object term)
    {
        ArgumentNullException.ThrowIfNull(term);
        return new ExitReason(ExitReasonKind.Custom, term: term);
    }

    /// <inheritdoc />
    public bool Equals(ExitReason? other) =>
        other is not null && Kind == other.Kind && ReferenceEquals(Exception, other.Exception) && Equals(Term, other.Term);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ExitReason);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, Exception, Term);

    /// <summary>Prints the reason the way Erlang would name it.</summary>
    public override string ToString() => Kind switch
    {
        ExitReasonKind.Normal => "normal",
        ExitReasonKind.Shutdown => "shutdown",
        ExitReasonKind.Kill => "kill",
        ExitReasonKind.Killed => "killed",
        ExitReasonKind.NoProc => "noproc",
        ExitReasonKind.Exception => $"{{exception, {Exception!.GetType().Name}: {Exception.Message}}}",
        _ => Term!.ToString() ?? "custom",
    };
}
