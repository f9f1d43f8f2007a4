namespace Heirloom.Behaviours;

/// <summary>How a <see cref="GenServer"/> is started.</summary>
public sealed record GenServerOptions
{
    /// <summary>A name to register before <see cref="GenServer.InitAsync"/> runs; the start fails if it is taken.</summary>
    public string? Name { get; init; }

    /// <summary>How long the starter waits for <see cref="GenServer.InitAsync"/>; the server is killed when it takes longer.
    /// Default: for ever, as OTP.</summary>
    public TimeSpan StartTimeout { get; init; } = Timeout.InfiniteTimeSpan;
}
