using System.Globalization;

namespace Heirloom.Demo;

/// <summary>The demo's command line.</summary>
internal sealed record DemoOptions(TimeSpan Duration, int CrashesPerSecond, int ManagerCrashEvery, bool Dashboard = false, string? DurableDirectory = null)
{
    public const string Usage = """
        Heirloom demo: a supervised worker keeps writing records into a table that a TableManager keeps alive,
        while a chaos loop crashes the worker (and sometimes the manager) many times a second.

        Usage: dotnet run --project samples/Heirloom.Demo -- [options]

        Ctrl+C ends the run early, with its summary.

        Options:
          --duration <seconds>          how long to run (default 10)
          --crash-rate <per second>     worker crashes per second; 0 none (default 50)
          --manager-crash-every <n>     also crash the manager every n-th crash; 0 never (default 10)
          --dashboard                   serve the live observer page on a free loopback port and print its URL
          --durable <directory>         keep the table on disk there (fsync Always); a record counts as written once
                                        its fsync is done, and the summary checks them on disk too
          --help                        show this help
        """;

    public static DemoOptions? Parse(string[] args)
    {
        var options = new DemoOptions(TimeSpan.FromSeconds(10), 50, 10);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--help" or "-h":
                    return null;
                case "--dashboard":
                    options = options with { Dashboard = true };
                    break;
                case "--durable" when !string.IsNullOrWhiteSpace(value):
                    options = options with { DurableDirectory = Path.GetFullPath(value) };
                    i++;
                    break;
                case "--duration" when Positive(value, out var seconds):
                    options = options with { Duration = TimeSpan.FromSeconds(seconds) };
                    i++;
                    break;
                case "--crash-rate" when int.TryParse(value, CultureInfo.InvariantCulture, out var rate) && rate >= 0:
                    options = options with { CrashesPerSecond = rate };
                    i++;
                    break;
                case "--manager-crash-every" when int.TryParse(value, CultureInfo.InvariantCulture, out var every) && every >= 0:
                    options = options with { ManagerCrashEvery = every };
                    i++;
                    break;
                default:
                    throw new ArgumentException($"Unknown option or bad value: '{args[i]}{(value is null ? "" : " " + value)}'. Run with --help.");
            }
        }

        return options;

        static bool Positive(string? text, out int number) =>
            int.TryParse(text, CultureInfo.InvariantCulture, out number) && number > 0;
    }
}
