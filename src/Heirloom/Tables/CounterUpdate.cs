using System.Numerics;

namespace Heirloom.Tables;

/// <summary>
/// One counter update (ETS's <c>{Pos, Incr, Threshold, SetValue}</c> with an optional default object): add
/// <see cref="Increment"/>; with a threshold, a result past it (above for an increment of zero or more, below for a
/// negative one) becomes <see cref="SetValue"/>; with a default, a missing key starts from it.
/// </summary>
/// <typeparam name="TValue">The counter's numeric type.</typeparam>
public readonly record struct CounterUpdate<TValue>
    where TValue : INumber<TValue>
{
    /// <summary>An update that adds <paramref name="increment"/>.</summary>
    /// <param name="increment">What to add; negative to subtract.</param>
    public CounterUpdate(TValue increment)
    {
        Increment = increment;
        Threshold = TValue.Zero;
        SetValue = TValue.Zero;
        Default = TValue.Zero;
    }

    /// <summary>What to add.</summary>
    public TValue Increment { get; }

    /// <summary>Whether a threshold applies.</summary>
    public bool HasThreshold { get; private init; }

    /// <summary>The threshold, when <see cref="HasThreshold"/>.</summary>
    public TValue Threshold { get; private init; }

    /// <summary>What a result past the threshold becomes.</summary>
    public TValue SetValue { get; private init; }

    /// <summary>Whether a missing key starts from <see cref="Default"/> instead of failing.</summary>
    public bool HasDefault { get; private init; }

    /// <summary>The value a missing key starts from, when <see cref="HasDefault"/>.</summary>
    public TValue Default { get; private init; }

    /// <summary>The same update with a threshold and the value a result past it becomes.</summary>
    /// <param name="threshold">The threshold.</param>
    /// <param name="setValue">The value a result past it becomes.</param>
    public CounterUpdate<TValue> WithThreshold(TValue threshold, TValue setValue) =>
        this with { HasThreshold = true, Threshold = threshold, SetValue = setValue };

    /// <summary>The same update, starting a missing key from <paramref name="defaultValue"/> (inserted, then updated).</summary>
    /// <param name="defaultValue">The starting value.</param>
    public CounterUpdate<TValue> WithDefault(TValue defaultValue) => this with { HasDefault = true, Default = defaultValue };

    internal TValue Apply(TValue current)
    {
        var result = current + Increment;
        if (HasThreshold && (Increment >= TValue.Zero ? result > Threshold : result < Threshold))
        {
            return SetValue;
        }

        return result;
    }
}
