using System.Globalization;

namespace Heirloom.Processes;

/// <summary>Durations as people read them in messages: "500 ms", "5 s", "1.5 min", never "00:00:00.5000000".</summary>
internal static class Durations
{
    /// <summary>Formats <paramref name="duration"/> in the largest unit that keeps it at or above one, with at most
    /// two decimals; <see cref="Timeout.InfiniteTimeSpan"/> is "infinity", as OTP spells it.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == Timeout.InfiniteTimeSpan)
        {
            return "infinity";
        }

        var (value, unit) = Math.Abs(duration.Ticks) switch
        {
            < TimeSpan.TicksPerMillisecond => (duration.Ticks / 10.0, "µs"),
            < TimeSpan.TicksPerSecond => (duration.TotalMilliseconds, "ms"),
            < TimeSpan.TicksPerMinute => (duration.TotalSeconds, "s"),
            < TimeSpan.TicksPerHour => (duration.TotalMinutes, "min"),
            _ => (duration.TotalHours, "h"),
        };
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {unit}");
    }
}
