namespace Heirloom.Peers;

/// <summary>One runtime's side of every row, each written as that runtime is meant to be used. A row that has no
/// equivalent on a runtime returns <see cref="double.NaN"/>.</summary>
internal interface IPeer : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Which pattern this runtime uses for each row, by row key.</summary>
    IReadOnlyDictionary<string, string> Patterns { get; }

    Task StartAsync();

    /// <summary>Nanoseconds per round trip between two actors.</summary>
    Task<double> PingPongAsync(int roundTrips);

    /// <summary>Millions of messages per second over <paramref name="pairs"/> pairs each doing its share of round trips.</summary>
    Task<double> PingPongPairsAsync(int pairs, int roundTrips);

    /// <summary>Nanoseconds to spawn an actor, have it answer its first message and stop.</summary>
    Task<double> SpawnAsync(int actors);

    /// <summary>Milliseconds for Skynet over <paramref name="leaves"/> leaves (a power of ten).</summary>
    Task<double> SkynetAsync(int leaves);

    /// <summary>Nanoseconds per request/reply from code outside the runtime.</summary>
    Task<double> CallFromOutsideAsync(int calls);

    /// <summary>Microseconds from each crash to the new incarnation answering a call.</summary>
    Task<double[]> RestartAsync(int restarts);

    /// <summary>Managed bytes per idle actor.</summary>
    Task<double> MemoryPerIdleActorAsync(int actors);

    /// <summary>Milliseconds from a crash to the new incarnation serving the <paramref name="entries"/> entries again.</summary>
    Task<double> StateAfterCrashAsync(int entries);
}
