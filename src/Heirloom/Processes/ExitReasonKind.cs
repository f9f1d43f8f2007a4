namespace Heirloom.Processes;

/// <summary>The kinds of reason a process can exit with, as in Erlang.</summary>
public enum ExitReasonKind
{
    /// <summary>The process finished its work (<c>normal</c>). Does not kill linked processes.</summary>
    Normal,

    /// <summary>The process was told to stop (<c>shutdown</c>), typically by its supervisor or node.</summary>
    Shutdown,

    /// <summary>The untrappable kill signal (<c>kill</c>), sent with <see cref="Node.Exit(Pid, ExitReason)"/>.</summary>
    Kill,

    /// <summary>The reason of a process that received <see cref="Kill"/> (<c>killed</c>); trappable when it reaches links.</summary>
    Killed,

    /// <summary>The process did not exist (<c>noproc</c>): a link or monitor to a dead pid.</summary>
    NoProc,

    /// <summary>The process ended with an unhandled exception.</summary>
    Exception,

    /// <summary>Any other reason, carried as a term chosen by the user.</summary>
    Custom,
}
