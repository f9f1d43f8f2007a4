using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Heirloom.Processes;

namespace Heirloom.Benchmarks;

/// <summary>
/// Ten-million-entry tables and the collector's pauses: <c>big-table [entries] [ops]</c> (defaults 10,000,000 and
/// 5,000,000) fills each store with <c>long</c> keys and 16-64-character string values, then makes random updates and
/// random lookups, and prints every store and ETS side by side. Each .NET store runs in a child process of its own
/// (this executable again, with <c>--store NAME</c>), so that one store's garbage does not count against another's
/// collections; ETS runs in bench/erlang/big_table.escript.
/// </summary>
internal static class BigTable
{
    private const string Ets = "ETS";

    public static async Task<int> RunAsync(string[] args)
    {
        var store = args.Length >= 2 && args[0] == "--store" ? args[1] : null;
        var sizes = store is null ? args : args[2..];
        var entries = sizes.Length > 0 ? int.Parse(sizes[0], CultureInfo.InvariantCulture) : 10_000_000;
        var operations = sizes.Length > 1 ? int.Parse(sizes[1], CultureInfo.InvariantCulture) : 5_000_000;
        if (store is not null)
        {
            return await RunStoreAsync(store, entries, operations);
        }

        var results = new List<BigTableResult>();
        foreach (var name in BigTableStores.All.Keys)
        {
            Console.Error.WriteLine($"big-table: {name}, {entries:N0} entries, {operations:N0} operations...");
            results.Add(RunChild(name, entries, operations));
        }

        Console.Error.WriteLine($"big-table: {Ets}...");
        var ets = ErlangTwin.Run("big_table.escript", [entries.ToString(CultureInfo.InvariantCulture), operations.ToString(CultureInfo.InvariantCulture)]);
        BigTableReport.Print(entries, operations, results, ets);
        return 0;
    }

    /// <summary>In a child: runs one store and prints its result as one line of JSON.</summary>
    private static async Task<int> RunStoreAsync(string name, int entries, int operations)
    {
        var measure = BigTableStores.All.GetValueOrDefault(name) ?? throw new ArgumentException($"No store named '{name}'; the stores are {string.Join(", ", BigTableStores.All.Keys)}.");
        var workload = new BigTableWorkload(entries, operations);
        await using var node = new Node();
        var result = await measure(node, workload);
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static BigTableResult RunChild(string store, int entries, int operations)
    {
        string[] arguments = ["big-table", "--store", store, entries.ToString(CultureInfo.InvariantCulture), operations.ToString(CultureInfo.InvariantCulture)];
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };

        // Run as `dotnet Heirloom.Benchmarks.dll`, the executable is the host, which needs the assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BigTable).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return child.ExitCode == 0 && line is not null
            ? JsonSerializer.Deserialize<BigTableResult>(line)!
            : throw new InvalidOperationException($"The child running store '{store}' failed with exit code {child.ExitCode}.");
    }
}
