namespace Heirloom.Peers;

/// <summary>One line of the table. <paramref name="Pattern"/> keys <see cref="IPeer.Patterns"/>.</summary>
internal sealed record Row(string Name, string Pattern, string Unit, bool HigherIsBetter, Func<IPeer, Sizes, Task<double>> Measure)
{
    /// <summary>How many batches make one round's value (their median).</summary>
    public int Batches { get; init; } = 1;

    /// <summary>How many times better Heirloom's value is than <paramref name="peer"/>'s: above 1, Heirloom is ahead.</summary>
    public double Advantage(double heirloom, double peer) => HigherIsBetter ? heirloom / peer : peer / heirloom;
}
