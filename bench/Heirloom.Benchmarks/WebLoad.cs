using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Heirloom.Processes;
using Heirloom.WebSample;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Heirloom.Benchmarks;

/// <summary>
/// `web`: load on the web sample over loopback HTTP. Requests/s of POST /counters/{user} (through the owning worker,
/// durable table) against POST /baseline/counters/{user} (a ConcurrentDictionary) in alternating rounds of one run;
/// then the same load with the worker killed every 50 ms, checking after a restart that no acknowledged count was lost.
/// Arguments: [seconds per round, default 5] [concurrent clients, default 64].
/// </summary>
internal static class WebLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var clients = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
        var round = TimeSpan.FromSeconds(seconds);
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; {clients} clients, {seconds} s rounds");
        Console.WriteLine();

        var rows = new List<string>();
        foreach (var fsync in new[] { "EverySecond", "Always" })
        {
            var directory = Directory.CreateTempSubdirectory("heirloom-webload-").FullName;
            try
            {
                var (app, http) = await StartAsync(directory, fsync, clients);
                await LoadAsync(http, "/baseline/counters", clients, TimeSpan.FromSeconds(1), null);
                await LoadAsync(http, "/counters", clients, TimeSpan.FromSeconds(1), null);
                var baseline = new List<double>();
                var heirloom = new List<double>();
                for (var i = 0; i < 3; i++)
                {
                    baseline.Add((await LoadAsync(http, "/baseline/counters", clients, round, null)).PerSecond);
                    heirloom.Add((await LoadAsync(http, "/counters", clients, round, null)).PerSecond);
                }

                var b = Median(baseline);
                var h = Median(heirloom);
                rows.Add($"| fsync {fsync} | {b:N0} | {h:N0} | {h / b:P0} | | | |");

                var node = app.Services.GetRequiredService<Node>();
                var reports = new ConcurrentQueue<NodeReport>();
                node.Reported += (_, report) => reports.Enqueue(report);
                var crashed = await LoadAsync(http, "/counters", clients, round, node);
                await app.StopAsync();
                await app.DisposeAsync();

                (app, http) = await StartAsync(directory, fsync, clients);
                var lost = 0L;
                foreach (var (user, acknowledged) in crashed.Acknowledged)
                {
                    var count = long.Parse(await http.GetStringAsync($"/counters/{user}"), System.Globalization.CultureInfo.InvariantCulture);
                    lost += Math.Max(0, acknowledged - count);
                }

                await app.StopAsync();
                await app.DisposeAsync();
                rows.Add($"| fsync {fsync}, worker killed every 50 ms | | {crashed.PerSecond:N0} | {crashed.PerSecond / h:P0} of no kills | {crashed.Kills} kills, {crashed.Refused} refused | {lost} | {reports.OfType<CrashReport>().Count()} |");
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        Console.WriteLine("| load | ConcurrentDictionary req/s | Heirloom req/s | Heirloom / dictionary | kills | acknowledged lost | other crashes |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(string directory, string fsync, int clients)
    {
        var app = CounterApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Counters:Directory", directory, "--Counters:Fsync", fsync, "--Counters:MaxRestarts", "100000"],
            builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients };
        return (app, new HttpClient(handler) { BaseAddress = new Uri(app.Urls.Single()) });
    }

    private sealed record Result(double PerSecond, int Kills, long Refused, IReadOnlyDictionary<string, long> Acknowledged);

    /// <summary>Each client posts to its own user for <paramref name="duration"/>; with a node, the worker is killed
    /// every 50 ms meanwhile.</summary>
    private static async Task<Result> LoadAsync(HttpClient http, string path, int clients, TimeSpan duration, Node? killOn)
    {
        var acknowledged = new ConcurrentDictionary<string, long>();
        long done = 0, refused = 0;
        using var stop = new CancellationTokenSource(duration);
        var watch = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var user = $"user{client}";
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.PostAsync($"{path}/{user}", null);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged[user] = long.Parse(await response.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);
                    Interlocked.Increment(ref done);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        })).ToArray();

        var kills = 0;
        while (killOn is not null && !stop.IsCancellationRequested)
        {
            await Task.Delay(50);
            if (killOn.WhereIs(CounterEndpoints.TableName) is { IsNone: false } worker)
            {
                killOn.Exit(worker, ExitReason.Custom("killed by the load test"));
                kills++;
            }
        }

        await Task.WhenAll(loops);
        return new Result(done / watch.Elapsed.TotalSeconds, kills, refused, acknowledged);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
