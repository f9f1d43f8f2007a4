namespace Heirloom.Behaviours;

/// <summary>How a <see cref="GenServer"/> is started.</summary>
public sealed record GenServerOptions
{
    /// <summary>A name to register before <see cref="GenServer.InitAsync"/> runs; the start fails if it is taken.</summary>
    public string? Name { get; init; }

    /// <summary>How long the starter waits for <see cref="GenServer.InitAsync"/>; the server is killed when it takes longer.
    /// Default: for ever, as OTP.</summary>
    public TimeSpan StartTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>What becomes of the calls queued for the server when it crashes (see <see cref="Behaviours.QueuedCallsOnCrash"/>).
    /// Default null: the server's own default, <see cref="Behaviours.QueuedCallsOnCrash.Fail"/> (OTP's) for a plain
    /// server, <see cref="Behaviours.QueuedCallsOnCrash.HandToSuccessor"/> for a
    /// <see cref="Management.TableWorker{TKey, TValue}"/>.</summary>
    public QueuedCallsOnCrash? QueuedCallsOnCrash { get; init; }
}
