namespace Heirloom.Behaviours;

/// <summary>When a supervisor restarts a child that exited (OTP's <c>restart</c>).</summary>
public enum RestartType
{
    /// <summary>Always restarted.</summary>
    Permanent,

    /// <summary>Restarted only when it exits abnormally (not <c>normal</c> or <c>shutdown</c>).</summary>
    Transient,

    /// <summary>Never restarted; its spec is forgotten when it exits.</summary>
    Temporary,
}
