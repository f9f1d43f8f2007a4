namespace Heirloom.Tables;

/// <summary>
/// The rest of a select with a limit. It walks the same consistent view of the table as the first chunk, so it never
/// throws because of writes in between and never returns an object twice; objects written in between may or may not
/// be seen, as in ETS.
/// </summary>
/// <typeparam name="TResult">What the projection returns.</typeparam>
public sealed class SelectContinuation<TResult>
{
    private readonly Table _table;
    private readonly IEnumerator<TResult> _matches;
    private readonly int _limit;

    internal SelectContinuation(Table table, IEnumerator<TResult> matches, int limit)
    {
        _table = table;
        _matches = matches;
        _limit = limit;
    }

    /// <summary>The next chunk.</summary>
    /// <exception cref="TableException">The table was deleted (NoSuchTable) or the caller may not read it (Access).</exception>
    public SelectPage<TResult> Next()
    {
        _table.CheckRead();
        return Take(_table, _matches, _limit);
    }

    internal static SelectPage<TResult> Take(Table table, IEnumerator<TResult> matches, int limit)
    {
        var items = new List<TResult>(Math.Min(limit, 64));
        while (items.Count < limit && matches.MoveNext())
        {
            items.Add(matches.Current);
        }

        if (items.Count < limit)
        {
            matches.Dispose();
            return new SelectPage<TResult>(items, null);
        }

        return new SelectPage<TResult>(items, new SelectContinuation<TResult>(table, matches, limit));
    }
}
