using System.Diagnostics;

namespace Heirloom.Hosting.Tests;

/// <summary>A real host process (tests/Heirloom.Hosting.TestHost), as a process manager sees it: its exit code and
/// its console output.</summary>
public sealed class HostProcessTests
{
    private const string Failure = "the crasher failed on purpose";

    [Fact]
    public async Task A_root_tree_that_gives_up_makes_the_process_exit_with_code_1_and_logs_why()
    {
        var (exitCode, output) = await RunAsync("gives-up");

        Assert.True(exitCode == 1, $"exit code {exitCode}; output:\n{output}");
        var gaveUp = Entry(output, "[1005]");
        Assert.Contains("child crasher exited with {exception, InvalidOperationException: " + Failure + "}", gaveUp);
        Assert.Contains("its limit of 2 restarts in 5 s (SupervisorOptions.Intensity and SupervisorOptions.Period)", gaveUp);
        Assert.Contains("stopping the application with exit code 1 (Heirloom:StopApplicationWhenRootGivesUp, Heirloom:ExitCodeWhenRootGivesUp)", Entry(output, "[1010]"));
    }

    [Fact]
    public async Task The_exit_code_of_a_root_tree_that_gives_up_is_a_setting()
    {
        var (exitCode, output) = await RunAsync("gives-up", "--Heirloom:ExitCodeWhenRootGivesUp", "75");
        Assert.True(exitCode == 75, $"exit code {exitCode}; output:\n{output}");
    }

    [Fact]
    public async Task A_failed_start_is_logged_once()
    {
        var (exitCode, output) = await RunAsync("start-fails");

        Assert.NotEqual(0, exitCode);

        // The log holds one entry for it, the host's, naming the tree and the child, with the child's exception once;
        // what follows is the runtime's report of the exception the program's Main let through.
        var unhandled = output.IndexOf("Unhandled exception.", StringComparison.Ordinal);
        var log = unhandled < 0 ? output : output[..unhandled];
        Assert.Contains("The root supervision tree 1 did not start: child 'crasher' failed to start.", log);
        Assert.Equal(1, Count(log, Failure));
        Assert.Equal(1, Count(log, "fail: "));
        Assert.True(log.Split('\n').Length < 20, log);
    }

    private static int Count(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    /// <summary>The console logger's entry with this event id: its header line and the lines indented under it.</summary>
    private static string Entry(string output, string eventId)
    {
        var lines = output.Split('\n');
        var start = Array.FindIndex(lines, l => l.Contains(eventId, StringComparison.Ordinal));
        Assert.True(start >= 0, $"no entry {eventId} in:\n{output}");
        return string.Join('\n', lines.Skip(start).TakeWhile((l, i) => i == 0 || l.StartsWith(' ')));
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [HostPath(), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DOTNET_ENVIRONMENT"] = "Production", ["Logging__Console__FormatterName"] = "simple" },
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The host process did not exit within 60 s; output:\n{await output}{await error}");
        }

        return (process.ExitCode, (await output) + (await error));
    }

    private static string HostPath()
    {
        // The test's own output is .../tests/Heirloom.Hosting.Tests/bin/<configuration>/net10.0/; the host is built beside it.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = testOutput.Parent!.Name;
        var tests = testOutput.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(tests, "Heirloom.Hosting.TestHost", "bin", configuration, testOutput.Name, "Heirloom.Hosting.TestHost.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build tests/Heirloom.Hosting.TestHost first (dotnet build Heirloom.sln); looked for {path}.");
    }
}
