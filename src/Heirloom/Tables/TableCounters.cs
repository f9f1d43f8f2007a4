using System.Numerics;
using System.Runtime.CompilerServices;
using Heirloom.Tables.Storage;

namespace Heirloom.Tables;

/// <summary>Atomic counters on tables of numeric values (<c>ets:update_counter/3,4</c>); sets and ordered sets only.</summary>
public static class TableCounters
{
    /// <summary>Adds <paramref name="increment"/> to the key's value, atomically.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The numeric value type.</typeparam>
    /// <param name="table">The table.</param>
    /// <param name="key">The key; it must be present.</param>
    /// <param name="increment">What to add.</param>
    /// <returns>The new value.</returns>
    /// <exception cref="TableException">The key is missing (BadKey), the table is a bag (TableType), or access is denied.</exception>
    public static TValue UpdateCounter<TKey, TValue>(this Table<TKey, TValue> table, TKey key, TValue increment)
        where TKey : notnull
        where TValue : INumber<TValue>
    {
        ArgumentNullException.ThrowIfNull(table);
        var value = table.UpdateCounter(key, new IncrementApply<TKey, TValue>(increment), out var found);
        return found ? value : throw MissingKey(table, key);
    }

    /// <summary>Applies one counter update atomically: increment, threshold, default.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The numeric value type.</typeparam>
    /// <param name="table">The table.</param>
    /// <param name="key">The key; present, or the update has a default.</param>
    /// <param name="update">The update.</param>
    /// <returns>The new value.</returns>
    /// <exception cref="TableException">The key is missing and there is no default (BadKey), or the table is a bag (TableType).</exception>
    public static TValue UpdateCounter<TKey, TValue>(this Table<TKey, TValue> table, TKey key, CounterUpdate<TValue> update)
        where TKey : notnull
        where TValue : INumber<TValue>
    {
        ArgumentNullException.ThrowIfNull(table);
        var value = table.UpdateCounter(key, new CounterApply<TKey, TValue>(update), out var found);
        return found || update.HasDefault ? value : throw MissingKey(table, key);
    }

    /// <summary>Applies several counter updates as one atomic step: if any key is missing without a default, none
    /// is applied. Updates to the same key apply in order.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The numeric value type.</typeparam>
    /// <param name="table">The table.</param>
    /// <param name="updates">The keys and their updates.</param>
    /// <returns>The new values, in the order of the updates.</returns>
    /// <exception cref="TableException">A key is missing without a default (BadKey): nothing changed.</exception>
    public static TValue[] UpdateCounters<TKey, TValue>(this Table<TKey, TValue> table, IEnumerable<(TKey Key, CounterUpdate<TValue> Update)> updates)
        where TKey : notnull
        where TValue : INumber<TValue>
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(updates);
        var all = updates.ToArray();
        var withDefault = all.Where(u => u.Update.HasDefault).Select(u => u.Key).ToHashSet();
        return table.UpdateCounters(all, withDefault.Contains, Apply);
    }

    /// <summary>A plain increment, the commonest update: one field, so the compiler keeps it in a register where a
    /// whole <see cref="CounterUpdate{TValue}"/> would be copied through the stack at each step of the call.</summary>
    private readonly struct IncrementApply<TKey, TValue>(TValue increment) : IValueUpdate<TKey, TValue>
        where TValue : INumber<TValue>
    {
        private readonly TValue _increment = increment;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Apply(TKey key, bool found, TValue current, out TValue next)
        {
            next = found ? current + _increment : current;
            return found;
        }
    }

    /// <summary>A counter update as the stores apply it, inlined.</summary>
    private readonly struct CounterApply<TKey, TValue>(CounterUpdate<TValue> update) : IValueUpdate<TKey, TValue>
        where TValue : INumber<TValue>
    {
        private readonly CounterUpdate<TValue> _update = update;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Apply(TKey key, bool found, TValue current, out TValue next) => TableCounters.Apply(key, found, current, _update, out next);
    }

    private static bool Apply<TKey, TValue>(TKey key, bool found, TValue current, CounterUpdate<TValue> update, out TValue next)
        where TValue : INumber<TValue>
    {
        if (!found && !update.HasDefault)
        {
            next = current;
            return false;
        }

        next = update.Apply(found ? current : update.Default);
        return true;
    }

    private static TableException MissingKey<TKey, TValue>(Table<TKey, TValue> table, TKey key)
        where TKey : notnull =>
        new(TableError.BadKey, $"Key {key} is not in {table} and the update has no default.");
}
