namespace Heirloom.Behaviours;

/// <summary>How a supervisor stops a child (OTP's <c>shutdown</c>): a Shutdown exit signal and a time to exit
/// before it is killed, an immediate kill, or waiting for ever (for supervisors).</summary>
public sealed record ChildShutdown
{
    private ChildShutdown(TimeSpan? timeout, bool brutalKill)
    {
        Timeout = timeout;
        IsBrutalKill = brutalKill;
    }

    /// <summary>Kill the child at once (<c>brutal_kill</c>).</summary>
    public static ChildShutdown BrutalKill { get; } = new(null, true);

    /// <summary>Send Shutdown and wait for ever (<c>infinity</c>); the default for supervisors.</summary>
    public static ChildShutdown Infinity { get; } = new(null, false);

    /// <summary>How long the child has to exit after Shutdown before it is killed; null for the other kinds.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>Whether the child is killed at once.</summary>
    public bool IsBrutalKill { get; }

    /// <summary>Send Shutdown, wait up to <paramref name="timeout"/>, then kill.</summary>
    /// <param name="timeout">A positive time.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    public static ChildShutdown After(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return new ChildShutdown(timeout, false);
    }

    /// <summary>Prints it as OTP would.</summary>
    public override string ToString() => IsBrutalKill ? "brutal_kill" : Timeout is { } t ? $"{t.TotalMilliseconds} ms" : "infinity";
}
