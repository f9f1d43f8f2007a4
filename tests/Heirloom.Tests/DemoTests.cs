using System.Diagnostics;
using Xunit.Abstractions;

namespace Heirloom.Tests;

/// <summary>The demo of README.md, run as its own process the way a user runs it: in memory, and with its table on
/// disk, where the summary reopens the directory and checks every acknowledged record.</summary>
public sealed class DemoTests(ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryDirectory _temporary = new("demo");

    public void Dispose() => _temporary.Dispose();

    [Fact]
    public async Task The_demo_loses_no_record_while_its_worker_and_manager_are_crashed()
    {
        var (exitCode, text) = await RunDemoAsync("--duration", "2");

        Assert.Equal(0, exitCode);
        Assert.Contains("No acknowledged record was lost.", text);
    }

    [Fact]
    public async Task With_a_durable_table_every_acknowledged_record_is_on_disk_and_a_second_run_goes_on_from_it()
    {
        var (first, firstText) = await RunDemoAsync("--durable", _temporary.Path, "--duration", "2");
        var (second, secondText) = await RunDemoAsync("--durable", _temporary.Path, "--duration", "1");

        Assert.Equal((0, 0), (first, second));
        Assert.Contains("0 acknowledged records missing.", firstText);
        Assert.Contains("0 acknowledged records missing.", secondText);
        Assert.True(Written(secondText) > Written(firstText), "the second run did not go on from the first run's records");
    }

    [Fact]
    public async Task A_bad_option_is_refused_with_what_to_do()
    {
        var (exitCode, text) = await RunDemoAsync("--durable");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Run with --help", text);
    }

    private static long Written(string text)
    {
        var summary = text.Split('\n').Single(line => line.StartsWith("Summary:", StringComparison.Ordinal));
        var words = summary.Split(' ');
        return long.Parse(words[Array.IndexOf(words, "records") - 1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<(int ExitCode, string Output)> RunDemoAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(DemoPath());
        arguments.ToList().ForEach(start.ArgumentList.Add);
        using var demo = Process.Start(start)!;
        var standardOutput = demo.StandardOutput.ReadToEndAsync();
        var standardError = demo.StandardError.ReadToEndAsync();
        await demo.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var text = await standardOutput + await standardError;
        output.WriteLine(text);
        return (demo.ExitCode, text);
    }

    private static string DemoPath()
    {
        // The test's own output is .../tests/Heirloom.Tests/bin/<configuration>/net10.0/; the demo is built in samples/.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = testOutput.Parent!.Name;
        var root = testOutput.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "samples", "Heirloom.Demo", "bin", configuration, testOutput.Name, "Heirloom.Demo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build samples/Heirloom.Demo first (dotnet build Heirloom.sln); looked for {path}.");
    }
}
