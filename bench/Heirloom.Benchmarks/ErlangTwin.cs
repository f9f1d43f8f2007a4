using System.Diagnostics;
using System.Globalization;

namespace Heirloom.Benchmarks;

/// <summary>Runs an escript of bench/erlang, the Erlang/OTP twin of a set of measures, and reads what it prints: one
/// <c>name value</c> line per figure.</summary>
internal static class ErlangTwin
{
    public static Dictionary<string, double> Run(string script, IEnumerable<string> arguments)
    {
        var path = Path.Combine(FindRepositoryRoot(), "bench", "erlang", script);
        var start = new ProcessStartInfo("escript", [path, .. arguments]) { RedirectStandardOutput = true };
        using var erl = Process.Start(start) ?? throw new InvalidOperationException("Could not start escript; install Erlang/OTP (apt-get install -y erlang-nox).");
        var results = new Dictionary<string, double>();
        while (erl.StandardOutput.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            results[parts[0]] = double.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        erl.WaitForExit();
        return erl.ExitCode == 0 ? results : throw new InvalidOperationException($"escript {path} failed with exit code {erl.ExitCode}.");
    }

    public static string Version()
    {
        var start = new ProcessStartInfo("erl", ["-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."]) { RedirectStandardOutput = true };
        using var erl = Process.Start(start)!;
        var version = erl.StandardOutput.ReadToEnd();
        erl.WaitForExit();
        return version;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Heirloom.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the comparison from inside the Heirloom repository.");
    }
}
