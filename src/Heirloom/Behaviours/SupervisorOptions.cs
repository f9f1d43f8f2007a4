namespace Heirloom.Behaviours;

/// <summary>A supervisor's flags and children (OTP's <c>{SupFlags, ChildSpecs}</c>).</summary>
public sealed record SupervisorOptions
{
    /// <summary>What is restarted when a child exits. Default <see cref="SupervisorStrategy.OneForOne"/>.</summary>
    public SupervisorStrategy Strategy { get; init; } = SupervisorStrategy.OneForOne;

    /// <summary>At most this many restarts within <see cref="Period"/>; one more and the supervisor stops all
    /// children and exits with Shutdown. Default 1, as OTP.</summary>
    public int Intensity { get; init; } = 1;

    /// <summary>The window for <see cref="Intensity"/>. Default 5 s, as OTP.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The children, started in this order and stopped in reverse. For
    /// <see cref="SupervisorStrategy.SimpleOneForOne"/>, exactly one spec: the template of the dynamic children.</summary>
    public IReadOnlyList<ChildSpec> Children { get; init; } = [];

    /// <summary>A name to register the supervisor under.</summary>
    public string? Name { get; init; }
}
