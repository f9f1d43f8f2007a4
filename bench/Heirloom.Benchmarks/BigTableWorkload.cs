namespace Heirloom.Benchmarks;

/// <summary>
/// What the big-table measure does, chosen before it runs from a fixed seed so that no random number is drawn while
/// timing: a value (offset and length in a pool of random characters) for each of the entries, keys 1 to N; for each
/// update a random existing key and a new value; for each lookup a random existing key. Values are 16 to 64
/// characters. Every store of a run gets the same choices; the Erlang twin makes its own from the same distributions.
/// The choices are arrays of numbers, which hold no references, so the collector never traces them.
/// </summary>
internal sealed class BigTableWorkload
{
    private const int PoolSize = 1 << 20;
    private const int MinLength = 16;
    private const int MaxLength = 64;
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private readonly char[] _pool;
    private readonly int[] _fillOffsets;
    private readonly byte[] _fillLengths;
    private readonly int[] _updateOffsets;
    private readonly byte[] _updateLengths;

    public BigTableWorkload(int entries, int operations, int seed = 20261124)
    {
        var random = new Random(seed);
        Entries = entries;
        _pool = [.. Enumerable.Range(0, PoolSize).Select(_ => Alphabet[random.Next(Alphabet.Length)])];
        (_fillOffsets, _fillLengths) = Values(random, entries);
        UpdateKeys = Keys(random, operations, entries);
        (_updateOffsets, _updateLengths) = Values(random, operations);
        LookupKeys = Keys(random, operations, entries);
    }

    public int Entries { get; }

    public long[] UpdateKeys { get; }

    public long[] LookupKeys { get; }

    /// <summary>A new string, the value of the <paramref name="index"/>th entry of the fill.</summary>
    public string FillValue(int index) => new(_pool, _fillOffsets[index], _fillLengths[index]);

    /// <summary>A new string, the value of the <paramref name="index"/>th update.</summary>
    public string UpdateValue(int index) => new(_pool, _updateOffsets[index], _updateLengths[index]);

    private static (int[] Offsets, byte[] Lengths) Values(Random random, int count)
    {
        var offsets = new int[count];
        var lengths = new byte[count];
        for (var i = 0; i < count; i++)
        {
            lengths[i] = (byte)random.Next(MinLength, MaxLength + 1);
            offsets[i] = random.Next(PoolSize - MaxLength);
        }

        return (offsets, lengths);
    }

    private static long[] Keys(Random random, int count, int entries)
    {
        var keys = new long[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = random.NextInt64(1, entries + 1);
        }

        return keys;
    }
}
