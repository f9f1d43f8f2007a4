using System.Globalization;

namespace Heirloom.Testing;

/// <summary>
/// Runs scenarios on a <see cref="SimulatedNode"/>: one seed (<see cref="Run"/>), a failing seed again
/// (<see cref="Replay"/>), or many seeds until one fails, its faults then shrunk to a short schedule
/// (<see cref="FindFailure"/>, <see cref="Check"/>). A run is a function of its seed and fault schedule: the same ones
/// give the same trace, byte for byte.
/// </summary>
public static class Simulation
{
    /// <summary>The environment variable that makes <see cref="FindFailure"/> and <see cref="Check"/> run one seed only.</summary>
    public const string SeedVariable = "HEIRLOOM_SIM_SEED";

    /// <summary>The environment variable with the fault schedule to replay with <see cref="SeedVariable"/>.</summary>
    public const string FaultsVariable = "HEIRLOOM_SIM_FAULTS";

    /// <summary>Runs <paramref name="scenario"/> once, with the faults its seed draws.</summary>
    /// <param name="seed">The run's random seed.</param>
    /// <param name="scenario">Starts the tree, states invariants, lets time pass, checks the end.</param>
    /// <param name="options">Fault rates and limits; default <see cref="SimulationOptions.Default"/>.</param>
    public static SimulationResult Run(long seed, Func<SimulatedNode, Task> scenario, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        return new SimulatedNode(seed, options ?? SimulationOptions.Default, faults: null).Execute(scenario);
    }

    /// <summary>Runs <paramref name="scenario"/> with exactly the faults of <paramref name="faults"/> (as a failing
    /// run prints them), keeping the trace.</summary>
    /// <param name="seed">The printed seed.</param>
    /// <param name="faults">The printed fault schedule, such as <c>kill:3@120 enospc@450</c>.</param>
    /// <param name="scenario">The scenario that failed.</param>
    /// <param name="options">The options it ran with; the trace is kept whatever they say.</param>
    /// <exception cref="FormatException"><paramref name="faults"/> is not a schedule.</exception>
    public static SimulationResult Replay(long seed, string faults, Func<SimulatedNode, Task> scenario, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var schedule = Fault.Parse(faults);
        return new SimulatedNode(seed, (options ?? SimulationOptions.Default) with { KeepTrace = true }, schedule).Execute(scenario);
    }

    /// <summary>
    /// Runs seeds <paramref name="firstSeed"/>, <paramref name="firstSeed"/> + 1, ... until one fails, then shrinks its
    /// fault schedule (dropping faults while it still fails) and returns that run; null when all
    /// <paramref name="seeds"/> pass. With <see cref="SeedVariable"/> set, runs that seed (and
    /// <see cref="FaultsVariable"/>'s faults, when set) only.
    /// </summary>
    /// <param name="scenario">The scenario.</param>
    /// <param name="seeds">How many seeds to try.</param>
    /// <param name="firstSeed">The first seed.</param>
    /// <param name="options">Fault rates and limits.</param>
    public static SimulationResult? FindFailure(Func<SimulatedNode, Task> scenario, int seeds, long firstSeed = 1, SimulationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentOutOfRangeException.ThrowIfNegative(seeds);
        options ??= SimulationOptions.Default;
        if (FromEnvironment(scenario, options) is { } replayed)
        {
            return replayed.Succeeded ? null : replayed;
        }

        for (var seed = firstSeed; seed < firstSeed + seeds; seed++)
        {
            var result = Run(seed, scenario, options);
            if (!result.Succeeded)
            {
                return Shrink(result, scenario, options);
            }
        }

        return null;
    }

    /// <summary>As <see cref="FindFailure"/>, but a failing seed throws, its message the failure and the replay line.</summary>
    /// <param name="scenario">The scenario.</param>
    /// <param name="seeds">How many seeds to try.</param>
    /// <param name="firstSeed">The first seed.</param>
    /// <param name="options">Fault rates and limits.</param>
    /// <exception cref="SimulationFailedException">A seed failed.</exception>
    public static void Check(Func<SimulatedNode, Task> scenario, int seeds, long firstSeed = 1, SimulationOptions? options = null)
    {
        if (FindFailure(scenario, seeds, firstSeed, options) is { } failed)
        {
            throw new SimulationFailedException(failed);
        }
    }

    /// <summary>Drops faults one at a time, in halves first, keeping each drop after which the run still fails; the
    /// result is a schedule from which no single fault can be dropped (bounded to a few hundred runs).</summary>
    internal static SimulationResult Shrink(SimulationResult failed, Func<SimulatedNode, Task> scenario, SimulationOptions options)
    {
        var best = failed;
        var budget = 300;
        for (var chunk = Math.Max(1, best.Faults.Count / 2); chunk >= 1 && budget > 0; chunk /= 2)
        {
            for (var start = 0; start < best.Faults.Count && budget > 0; budget--)
            {
                var fewer = best.Faults.Take(start).Concat(best.Faults.Skip(start + chunk)).ToList();
                var attempt = new SimulatedNode(best.Seed, options, fewer).Execute(scenario);
                if (!attempt.Succeeded)
                {
                    best = attempt;
                }
                else
                {
                    start += chunk;
                }
            }
        }

        return best;
    }

    private static SimulationResult? FromEnvironment(Func<SimulatedNode, Task> scenario, SimulationOptions options)
    {
        if (Environment.GetEnvironmentVariable(SeedVariable) is not { Length: > 0 } text)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed))
        {
            throw new FormatException($"{SeedVariable}='{text}' is not a seed; set it to the number a failing run printed, or unset it to try many seeds.");
        }

        return Environment.GetEnvironmentVariable(FaultsVariable) is { } faults
            ? Replay(seed, faults, scenario, options)
            : Run(seed, scenario, options with { KeepTrace = true });
    }
}
