using Heirloom.Tables;

namespace Heirloom.Demo;

/// <summary>The console view: redrawn in place on a terminal, a line per second when the output is redirected. It checks
/// the table under its name each time: a durable table closed with a dead manager is reopened as a new table.</summary>
internal sealed class LiveView(DemoStats stats, Func<Table<long, string>?> table)
{
    private long _verified;
    private long _lost;
    private int _lines = -1;
    private DateTime _lastLine;

    public void Draw(TimeSpan elapsed, TimeSpan duration)
    {
        Verify(stats.Acknowledged);
        var text = new[]
        {
            $"Heirloom demo: {elapsed.TotalSeconds,5:F1} / {duration.TotalSeconds:F0} s",
            $"  worker crashes   {stats.WorkerCrashes,10}",
            $"  manager crashes  {stats.ManagerCrashes,10}",
            $"  hand-offs        {stats.HandOffs,10}",
            $"  records written  {stats.Acknowledged,10}",
            $"  records lost     {_lost,10}",
        };
        if (Console.IsOutputRedirected)
        {
            if (DateTime.UtcNow - _lastLine >= TimeSpan.FromSeconds(1))
            {
                _lastLine = DateTime.UtcNow;
                Console.WriteLine(string.Join(" |", text.Select(t => t.Trim())));
            }

            return;
        }

        // Moving up by escape sequence, not Console.CursorTop: reading the cursor's position asks the terminal, and a
        // terminal that does not answer stalls the view for seconds.
        if (_lines > 0)
        {
            Console.Write($"\u001b[{_lines}A\r");
        }

        foreach (var line in text)
        {
            Console.WriteLine(line.PadRight(60));
        }

        _lines = text.Length;
    }

    /// <summary>Checks every record acknowledged since the last check is in the table; returns the total lost.</summary>
    public long VerifyAll()
    {
        _verified = 0;
        _lost = 0;
        Verify(stats.Acknowledged);
        return _lost;
    }

    private void Verify(long acknowledged)
    {
        // Between a table's close and its reopening there is none to check; the next draw checks the records instead.
        if (table() is not { IsDeleted: false } current)
        {
            return;
        }

        var lost = 0L;
        try
        {
            for (var key = _verified + 1; key <= acknowledged; key++)
            {
                if (!current.ContainsKey(key))
                {
                    lost++;
                }
            }
        }
        catch (TableException e) when (e.Error is TableError.NoSuchTable or TableError.StorageFailed)
        {
            return;
        }

        _lost += lost;
        _verified = Math.Max(_verified, acknowledged);
    }
}
