using System.Diagnostics;
using System.Net;
using Npgsql;
using Xunit.Abstractions;

namespace Heirloom.WebSample.Tests;

/// <summary>The web sample in cluster mode: three replica processes over one PostgreSQL, any of them serving any
/// request, and two going on when the one owning the counters' table is killed (SIGKILL).</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterModeTests(PostgresServer server, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Users = ["ann", "bob", "cy"];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _schema = PostgresServer.NewSchema();
    private readonly List<ReplicaProcess> _replicas = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_replicas_serve_any_request_and_the_two_left_after_the_owner_is_killed_lose_no_acknowledged_increment()
    {
        var started = Stopwatch.StartNew();
        var starting = Enumerable.Range(0, 3).Select(i => ReplicaProcess.StartAsync(server.ConnectionString, _schema, $"replica-{i}")).ToList();
        try
        {
            await Task.WhenAll(starting);
        }
        finally
        {
            // Those that started are killed in DisposeAsync even when another did not start.
            _replicas.AddRange(starting.Where(s => s.IsCompletedSuccessfully).Select(s => s.Result));
        }

        var counts = Users.ToDictionary(u => u, _ => new Tally());

        // Round-robin over the three replicas, each user's increments going to each in turn: every increment is
        // acknowledged with the next count, whichever replica took it.
        await IncrementRoundRobinAsync(_replicas, counts, rounds: 20);
        Assert.All(counts.Values, t => Assert.Equal(0, t.Unknown));
        Assert.All(counts.Values, t => Assert.Equal(20, t.Acknowledged));
        await AssertEveryReplicaReadsAsync(_replicas, counts);

        // Kill the owner between requests, then go on at once with the two left: calls arriving during the takeover
        // wait for the new owner (or are refused unapplied, 503, and sent again).
        var owner = await OwnerAsync();
        output.WriteLine($"{owner.NodeId} owns the table after {started.Elapsed.TotalSeconds:F1} s; killing it");
        await owner.KillAndWaitAsync();
        var survivors = _replicas.Where(r => r != owner).ToList();
        await IncrementRoundRobinAsync(survivors, counts, rounds: 20);
        await AssertEveryReplicaReadsAsync(survivors, counts);

        foreach (var (user, tally) in counts)
        {
            output.WriteLine($"{user}: {tally.Acknowledged} acknowledged, {tally.Refused} refused (503), {tally.Unknown} unknown, last count {tally.Last}");

            // Every acknowledged increment counted, and nothing else but what an unknown outcome may have applied.
            Assert.InRange(tally.Last, tally.Acknowledged, tally.Acknowledged + tally.Unknown);
        }

        output.WriteLine($"done in {started.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Sends <paramref name="rounds"/> increments per user, one at a time, round-robin over
    /// <paramref name="replicas"/>. A 503 (not applied) is sent again to the next replica; every acknowledged count
    /// must be above the last.</summary>
    private async Task IncrementRoundRobinAsync(List<ReplicaProcess> replicas, Dictionary<string, Tally> counts, int rounds)
    {
        var deadline = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            var userIndex = 0;
            foreach (var (user, tally) in counts)
            {
                userIndex++;
                for (var attempt = 0; ; attempt++)
                {
                    Assert.True(attempt < 200 && deadline.Elapsed < Patience, $"an increment for {user} was not acknowledged in {attempt} attempts and {deadline.Elapsed}");
                    var replica = replicas[(round + userIndex + attempt) % replicas.Count];
                    using var response = await replica.Client.PostAsync($"/counters/{user}", null);
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        tally.Refused++;
                        continue;
                    }

                    if (response.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.GatewayTimeout)
                    {
                        output.WriteLine($"{replica.NodeId} answered {(int)response.StatusCode} to an increment for {user}: its outcome is unknown");
                        tally.Unknown++;
                        continue;
                    }

                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    var count = await response.Content.ReadFromJsonAsync<long>();
                    Assert.True(count > tally.Last, $"{replica.NodeId} acknowledged {user}'s count {count} after {tally.Last}");
                    tally.Last = count;
                    tally.Acknowledged++;
                    break;
                }
            }
        }
    }

    private static async Task AssertEveryReplicaReadsAsync(List<ReplicaProcess> replicas, Dictionary<string, Tally> counts)
    {
        foreach (var replica in replicas)
        {
            foreach (var (user, tally) in counts)
            {
                Assert.Equal(tally.Last, await replica.Client.GetFromJsonAsync<long>($"/counters/{user}"));
            }

            Assert.Equal(0, await replica.Client.GetFromJsonAsync<long>("/counters/nobody"));
        }
    }

    /// <summary>The replica owning the counters' table and serving it, as the cluster records it in PostgreSQL.</summary>
    private async Task<ReplicaProcess> OwnerAsync()
    {
        await using var source = NpgsqlDataSource.Create(server.ConnectionString);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Patience)
        {
            await using var command = source.CreateCommand(
                $"SELECT t.owner_node FROM {_schema}.tables t JOIN {_schema}.nodes n ON n.node_id = t.owner_node " +
                $"WHERE t.name = 'counters' AND 'counters' = ANY(n.serving)");
            if (await command.ExecuteScalarAsync() is string id)
            {
                return _replicas.Single(r => r.NodeId == id);
            }

            await Task.Delay(50);   // polling PostgreSQL's record, not hiding a race: the test waits for a state
        }

        throw new TimeoutException($"No replica owned the table within {Patience}.");
    }

    private sealed class Tally
    {
        public long Last { get; set; }

        public int Acknowledged { get; set; }

        public int Refused { get; set; }

        public int Unknown { get; set; }
    }
}
