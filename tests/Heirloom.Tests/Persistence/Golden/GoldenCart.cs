namespace Heirloom.Tests.Persistence.Golden;

/// <summary>The value type of the golden durable directory. Its full name is in the files (the JSON codec's name in
/// the format they were written in), so it must not be renamed or moved.</summary>
public sealed record GoldenCart(string Customer, int Items, decimal Total);
