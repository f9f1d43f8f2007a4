namespace Heirloom.Peers;

/// <summary>How much work each row does. Orleans activates a grain per actor through its directory (about 60 us each
/// here), so its spawn, Skynet and memory rows run on their own (smaller or equal) counts, printed with the table: its
/// Skynet runs over 100,000 leaves, as a million would take over a minute a round.</summary>
internal sealed record Sizes(
    int PingPongRoundTrips,
    int PairsRoundTrips,
    int Spawns,
    int SkynetLeaves,
    int Calls,
    int Restarts,
    int IdleActors,
    int Entries,
    int OrleansSpawns,
    int OrleansSkynetLeaves,
    int OrleansIdleActors)
{
    public static readonly Sizes Full = new(200_000, 400_000, 100_000, 1_000_000, 100_000, 2_000, 100_000, 100_000, 10_000, 100_000, 100_000);

    public static readonly Sizes Quick = new(20_000, 40_000, 10_000, 10_000, 10_000, 200, 10_000, 100_000, 1_000, 10_000, 5_000);

    /// <summary>The warm-up round: every path often enough that the measured rounds run the JIT's final code, not its
    /// first tiers. A restart runs many methods once each, so it takes tens of thousands of restarts before they are all
    /// promoted (with 200, the first measured rounds ran partly unoptimized code: 2-3x slower).</summary>
    public static readonly Sizes WarmUp = new(20_000, 40_000, 5_000, 10_000, 10_000, 30_000, 2_000, 10_000, 500, 1_000, 1_000);
}
