using System.Diagnostics;
using Heirloom.Processes;
using Xunit.Abstractions;

namespace Heirloom.Conformance.Runtime;

/// <summary>
/// Differential conformance of processes, gen_server and supervisor: every scenario runs in Erlang/OTP (through
/// escript) and in Heirloom, and the two traces must be equal line for line. Needs Erlang/OTP (apt-get install -y
/// erlang-nox); without it the tests fail rather than skip, so CI can never pass them silently.
/// </summary>
public sealed class RuntimeConformanceTests(ITestOutputHelper output)
{
    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyList<string>>> s_erlang = new(RunErlang);

    public static TheoryData<string> Scenarios() => [.. RuntimeScenarios.All.Keys.Order(StringComparer.Ordinal)];

    [Fact]
    public void Every_scenario_exists_on_both_sides_and_there_are_at_least_sixty()
    {
        var erlang = s_erlang.Value.Keys.ToHashSet();
        var heirloom = RuntimeScenarios.All.Keys.ToHashSet();
        Assert.Empty(erlang.Except(heirloom));
        Assert.Empty(heirloom.Except(erlang));
        output.WriteLine($"{heirloom.Count} runtime scenarios");
        Assert.True(heirloom.Count >= 60, $"only {heirloom.Count} scenarios");
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Heirloom_traces_the_same_lines_as_erlang(string scenario)
    {
        var expected = s_erlang.Value[scenario];
        var actual = await RunHeirloom(scenario);
        output.WriteLine($"Erlang:   {string.Join(" | ", expected)}");
        output.WriteLine($"Heirloom: {string.Join(" | ", actual)}");
        Assert.Equal(expected, actual);
    }

    private static async Task<IReadOnlyList<string>> RunHeirloom(string scenario)
    {
        var trace = new Trace();
        await using var node = new Node();
        var body = RuntimeScenarios.All[scenario];
        var pid = node.Spawn(ctx => body(ctx, trace));
        var reason = await node.WhenExited(pid).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(reason.IsNormal, $"the scenario's process exited with {reason}");

        // What the scenario saw up to its end; a node's teardown afterwards is not part of it, as in the escript.
        return trace.Lines();
    }

    private static Dictionary<string, IReadOnlyList<string>> RunErlang()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Runtime", "runtime_scenarios.escript");
        ProcessStartInfo start = new("escript", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var erlang = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("escript did not start");
        var stdout = erlang.StandardOutput.ReadToEndAsync();
        var stderr = erlang.StandardError.ReadToEndAsync();
        erlang.WaitForExit();
        if (erlang.ExitCode != 0)
        {
            throw new InvalidOperationException($"escript failed ({erlang.ExitCode}): {stderr.Result}");
        }

        var traces = new Dictionary<string, IReadOnlyList<string>>();
        string? current = null;
        List<string> lines = [];
        foreach (var line in stdout.Result.Split('\n'))
        {
            if (line.StartsWith("scenario ", StringComparison.Ordinal))
            {
                (current, lines) = (line["scenario ".Length..], []);
            }
            else if (line == "end" && current is not null)
            {
                traces[current] = lines;
                current = null;
            }
            else if (current is not null)
            {
                lines.Add(line);
            }
        }

        return traces;
    }
}
