using System.Globalization;

namespace Heirloom.Postgres.Tests;

/// <summary>The CPU time a PostgreSQL server spends (its postmaster and every backend and worker under it), read from
/// /proc, as a share of one core over a window.</summary>
internal static class ServerCpu
{
    /// <summary>Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    public static async Task<double> CoreShareAsync(string dataDirectory, TimeSpan window)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var before = Ticks(postmaster);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Task.Delay(window);
        var after = Ticks(postmaster);
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;

        // A backend that exited in the window took its ticks with it; an idle server starts and ends none.
        var spent = after.Sum(p => p.Value - before.GetValueOrDefault(p.Key));
        return spent / TicksPerSecond / seconds;
    }

    private static Dictionary<int, long> Ticks(int postmaster)
    {
        var ticks = new Dictionary<int, long>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || Stat(directory) is not { } stat)
            {
                continue;
            }

            if (pid == postmaster || stat.Parent == postmaster)
            {
                ticks[pid] = stat.Ticks;
            }
        }

        return ticks;
    }

    /// <summary>The parent pid and utime+stime of /proc/PID/stat, whose second field (the command) may hold spaces,
    /// so fields are counted after its closing parenthesis.</summary>
    private static (int Parent, long Ticks)? Stat(string directory)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(directory, "stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[1], CultureInfo.InvariantCulture),
            long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
    }
}
