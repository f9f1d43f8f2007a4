namespace Heirloom.Postgres.Tests;

/// <summary>Sets <paramref name="Key"/> to the worker's next stamp; answered with it once committed.</summary>
/// <param name="Key">The key.</param>
internal sealed record Stamp(long Key);
