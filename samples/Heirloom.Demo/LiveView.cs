using Heirloom.Tables;

namespace Heirloom.Demo;

/// <summary>The console view: redrawn in place on a terminal, a line per second when the output is redirected.</summary>
internal sealed class LiveView(DemoStats stats, Table<long, string> table)
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
        for (var key = _verified + 1; key <= acknowledged; key++)
        {
            if (!table.ContainsKey(key))
            {
                _lost++;
            }
        }

        _verified = Math.Max(_verified, acknowledged);
    }
}
