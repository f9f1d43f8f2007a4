using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.ClusterDemo;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Postgres.Testing;
using Heirloom.Processes;
using Heirloom.Tables;
using Npgsql;

namespace Heirloom.Benchmarks;

/// <summary>
/// The clustered-table measures, in one run against one PostgreSQL (a throwaway one, or HEIRLOOM_POSTGRES):
/// acknowledged writes per second through one owner with 1, 8 and 64 concurrent writers against single-row commits;
/// takeover after SIGKILL of the owner's process and after its machine went silent (a network namespace losing its
/// address; needs root); and takeover with a warm standby at 10k, 100k and 1M rows. Usage:
/// <c>cluster [writes] [kill] [silent] [standby]</c> (default all).
/// </summary>
internal static class ClusterWorkloads
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] sections)
    {
        string[] known = ["writes", "kill", "silent", "standby", "first"];
        if (sections.Except(known).FirstOrDefault() is { } unknown)
        {
            Console.Error.WriteLine($"Unknown section '{unknown}'; the sections are {string.Join(", ", known)}.");
            return 2;
        }

        bool Runs(string section) => sections.Length == 0 || sections.Contains(section);

        // The nodes run from the demo's own build output: this program's folder carries ASP.NET Core's assemblies as a
        // shared framework, which the demo does not ask for.
        NodeProcess.Program = DemoAssembly();
        // The silent machine's network exists before the server starts, so that the server can listen on it.
        using var machine = Runs("silent") ? NetworkNamespace.Create(77) : null;
        await using var server = machine is null
            ? await ThrowawayPostgres.StartAsync()
            : await ThrowawayPostgres.StartAsync($"127.0.0.1,{machine.HostAddress}", "10.231.0.0/16");
        Console.WriteLine($"Heirloom clustered tables, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, throwaway PostgreSQL on loopback");
        Console.WriteLine();
        Console.WriteLine("| measure | result | goal | met |");
        Console.WriteLine("|---|---|---|---|");

        if (Runs("writes"))
        {
            var single = await SingleRowCommitsPerSecondAsync(server.ConnectionString);
            Row("single-row commits, one client (baseline)", $"{single:N0}/s", "", null);
            foreach (var writers in (int[])[1, 8, 64])
            {
                var (rate, perCommit) = await AcknowledgedWritesPerSecondAsync(server.ConnectionString, writers);
                Row($"acknowledged writes, one owner, {writers} writers", $"{rate:N0}/s ({rate / single:F1}x single-row; {perCommit:F1} writes per commit)", writers == 64 ? ">= 50x single-row" : "", writers == 64 ? rate / single >= 50 : null);
            }

            // The same 64 writers with two commits in flight (MaxCommitsInFlight = 2), against the default's one.
            var (pipelined, pipelinedPerCommit) = await AcknowledgedWritesPerSecondAsync(server.ConnectionString, 64, commitsInFlight: 2);
            Row("acknowledged writes, one owner, 64 writers, two commits in flight", $"{pipelined:N0}/s ({pipelined / single:F1}x single-row; {pipelinedPerCommit:F1} writes per commit)", "", null);

            var (local, shippedPerCommit) = await AcknowledgedWritesPerSecondAsync(server.ConnectionString, 64, localJournal: true);
            Row("acknowledged from a local journal (shipped later), 64 writers", $"{local:N0}/s ({local / single:F1}x single-row; {shippedPerCommit:F1} writes per commit)", "", null);
        }

        if (Runs("kill"))
        {
            var (p50, p99) = await TakeoverAfterKillAsync(server.ConnectionString, kills: 20);
            Row("takeover after SIGKILL of the owner, 20 kills", $"p50 {p50:F0} ms, p99 {p99:F0} ms", "p99 <= 1000 ms", p99 <= 1000);
        }

        if (Runs("silent"))
        {
            var silent = await TakeoverAfterSilenceAsync(server.ConnectionString, machine!);
            Row("takeover after the owner's machine went silent (lease 3 s)", $"{silent:F0} ms", "<= 5000 ms", silent <= 5000);
        }

        if (Runs("standby"))
        {
            foreach (var rows in (int[])[10_000, 100_000, 1_000_000])
            {
                var (takeover, handOff) = await TakeoverWithStandbyAsync(server.ConnectionString, rows);
                Row($"takeover with a warm standby, {rows:N0} rows", $"{takeover:F0} ms (lock to hand-off {handOff:F0} ms)", "flat", null);
            }
        }

        if (Runs("first"))
        {
            var (first, steady) = await FirstCommitAfterTakeoverAsync(server.ConnectionString, takeovers: 10);
            Row("first commit after a takeover vs a steady commit, 10 takeovers (one write, acknowledged when committed)",
                $"first p50 {Percentile(first, 0.5):F1} ms, max {first[^1]:F1} ms; steady p50 {Percentile(steady, 0.5):F1} ms, p99 {Percentile(steady, 0.99):F1} ms",
                "first p50 <= 2x steady p50", Percentile(first, 0.5) <= 2 * Percentile(steady, 0.5));
        }

        return 0;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>
    /// Two nodes in this process, each round: the owner writes, a standby follows, the owner's node stops (handing the
    /// table off), and the standby's worker, once it has the table, writes one key at a time, each acknowledged when
    /// committed: the first write's time against the next 50's. Returns both, sorted.
    /// </summary>
    private static async Task<(List<double> First, List<double> Steady)> FirstCommitAfterTakeoverAsync(string connectionString, int takeovers)
    {
        var first = new List<double>();
        var steady = new List<double>();
        for (var round = 0; round < takeovers; round++)
        {
            var schema = $"first{round}";
            var owner = await BenchNode.StartAsync(connectionString, schema, "a");
            await owner.Table.WaitAsync(TimeSpan.FromSeconds(30));
            for (var key = 0L; key < 100; key++)
            {
                await GenServer.CallAsync<long>(owner.Node, "writer", key);
            }

            await using var standby = await BenchNode.StartAsync(connectionString, schema, "b");
            await Task.Delay(1500);                                          // the standby reads the last commits
            await owner.DisposeAsync();
            await standby.Table.WaitAsync(TimeSpan.FromSeconds(60));
            var clock = Stopwatch.StartNew();
            await GenServer.CallAsync<long>(standby.Node, "writer", 1_000L);
            first.Add(clock.Elapsed.TotalMilliseconds);
            for (var key = 1_001L; key <= 1_050; key++)
            {
                clock.Restart();
                await GenServer.CallAsync<long>(standby.Node, "writer", key);
                steady.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        first.Sort();
        steady.Sort();
        return (first, steady);
    }

    private static string DemoAssembly()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Heirloom.sln")))
        {
            directory = directory.Parent;
        }

        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var path = Path.Combine(directory?.FullName ?? ".", "samples", "Heirloom.ClusterDemo", "bin", configuration, "net10.0", "Heirloom.ClusterDemo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build samples/Heirloom.ClusterDemo ({configuration}) first; looked for {path}.");
    }

    private static void Row(string measure, string result, string goal, bool? met) =>
        Console.WriteLine($"| {measure} | {result} | {goal} | {(met is null ? "" : met.Value ? "yes" : "NO")} |");

    /// <summary>One client, one autocommitted upsert per row: what a write costs when nothing shares its commit.</summary>
    private static async Task<double> SingleRowCommitsPerSecondAsync(string connectionString)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var create = source.CreateCommand("CREATE TABLE single_row (k bigint PRIMARY KEY, v bytea)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var connection = await source.OpenConnectionAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO single_row VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v", connection);
        insert.Parameters.Add(new() { Value = 0L });
        insert.Parameters.Add(new() { Value = new byte[12] });
        var clock = Stopwatch.StartNew();
        var rows = 0L;
        while (clock.Elapsed < Window)
        {
            insert.Parameters[0].Value = rows++;
            await insert.ExecuteNonQueryAsync();
        }

        return rows / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Concurrent callers of the owning worker, each waiting for its write's commit before the next.</summary>
    private static async Task<(double PerSecond, double WritesPerCommit)> AcknowledgedWritesPerSecondAsync(string connectionString, int writers, bool localJournal = false, int? commitsInFlight = null)
    {
        var journal = localJournal ? Directory.CreateTempSubdirectory("heirloom-bench-spool-").FullName : null;
        await using var owner = await BenchNode.StartAsync(connectionString, $"w{writers}{(localJournal ? "l" : "")}{commitsInFlight}", "a", journal, commitsInFlight);
        await owner.Table.WaitAsync(TimeSpan.FromSeconds(30));
        var next = 0L;
        var written = 0L;
        var before = await ClusteredTable.GetStatusAsync(owner.Server);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < Window)
            {
                await GenServer.CallAsync<long>(owner.Node, "writer", Interlocked.Increment(ref next));
                Interlocked.Increment(ref written);
            }
        })));
        var rate = written / clock.Elapsed.TotalSeconds;
        var after = await ClusteredTable.GetStatusAsync(owner.Server);
        var perCommit = (double)(after.CommittedWrites - before.CommittedWrites) / Math.Max(1, after.Commits - before.Commits);
        await owner.DisposeAsync();
        if (journal is not null)
        {
            Directory.Delete(journal, recursive: true);
        }

        return (rate, perCommit);
    }

    private static async Task<(double P50, double P99)> TakeoverAfterKillAsync(string connectionString, int kills)
    {
        var nodes = new List<NodeProcess>();
        var takeovers = new List<double>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await NodeProcess.StartAsync(connectionString, "kill", $"n{i}"));
            }

            for (var kill = 0; kill < kills; kill++)
            {
                var owner = await OwnerAsync(nodes);
                var others = nodes.Where(n => n != owner).ToList();
                others.ForEach(n => n.ExpectOwnership());
                await Task.Delay(200);
                var killedAt = Stopwatch.GetTimestamp();
                owner.Kill();
                var next = await await Task.WhenAny(others.Select(n => n.BecameOwner));
                takeovers.Add(Stopwatch.GetElapsedTime(killedAt, next).TotalMilliseconds);
                nodes.Remove(owner);
                await owner.DisposeAsync();
                nodes.Add(await NodeProcess.StartAsync(connectionString, "kill", $"k{kill}"));
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }

        takeovers.Sort();
        return (takeovers[(int)Math.Ceiling(0.5 * takeovers.Count) - 1], takeovers[(int)Math.Ceiling(0.99 * takeovers.Count) - 1]);
    }

    private static async Task<double> TakeoverAfterSilenceAsync(string connectionString, NetworkNamespace machine)
    {
        var remote = new NpgsqlConnectionStringBuilder(connectionString) { Host = machine.HostAddress }.ConnectionString;
        await using var silent = await NodeProcess.StartAsync(remote, "silent", "silent", wrapper: machine.Wrapper);
        await silent.BecameOwner.WaitAsync(TimeSpan.FromSeconds(30));
        await using var standby = await NodeProcess.StartAsync(connectionString, "silent", "standby");
        await Task.Delay(1000);
        var silencedAt = Stopwatch.GetTimestamp();
        machine.RemoveAddress();
        var taken = await standby.BecameOwner.WaitAsync(TimeSpan.FromSeconds(30));
        return Stopwatch.GetElapsedTime(silencedAt, taken).TotalMilliseconds;
    }

    /// <summary>An owner with <paramref name="rows"/> rows, a standby that followed them, the owner's node stopped:
    /// milliseconds until the standby's worker has the table, and the standby's own lock-to-hand-off time.</summary>
    private static async Task<(double Takeover, double HandOff)> TakeoverWithStandbyAsync(string connectionString, int rows)
    {
        var schema = $"s{rows}";
        var owner = await BenchNode.StartAsync(connectionString, schema, "a");
        await owner.Table.WaitAsync(TimeSpan.FromSeconds(30));
        for (var start = 0L; start < rows; start += 10_000)
        {
            await GenServer.CallAsync(owner.Node, "writer", Enumerable.Range(0, 10_000).Select(i => new KeyValuePair<long, long>(start + i, i)).ToArray(), TimeSpan.FromMinutes(1));
        }

        await using var standby = await BenchNode.StartAsync(connectionString, schema, "b");
        await Task.Delay(1500);                                          // the standby reads the last commits
        var stoppedAt = Stopwatch.GetTimestamp();
        await owner.DisposeAsync();
        var table = await standby.Table.WaitAsync(TimeSpan.FromSeconds(60));
        var takeover = Stopwatch.GetElapsedTime(stoppedAt).TotalMilliseconds;
        if (table.Count != rows)
        {
            throw new InvalidOperationException($"The standby took over {table.Count} rows; the owner had {rows}.");
        }

        return (takeover, (await ClusteredTable.GetStatusAsync(standby.Server)).LastTakeover!.Value.TotalMilliseconds);
    }

    private static async Task<NodeProcess> OwnerAsync(List<NodeProcess> nodes)
    {
        while (true)
        {
            if (nodes.Where(n => n.OwnerSince > 0 && !n.HasExited).MaxBy(n => n.OwnerSince) is { } owner)
            {
                return owner;
            }

            await Task.Delay(5);
        }
    }

    /// <summary>A node in this process with the clustered table "ledger" and a worker that writes a key, or a batch.</summary>
    private sealed class BenchNode : IAsyncDisposable
    {
        private readonly TaskCompletionSource<Table<long, long>> _table = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _disposed;

        public Node Node { get; } = new();

        public PostgresCluster Cluster { get; private set; } = null!;

        public Pid Server { get; private set; }

        public Task<Table<long, long>> Table => _table.Task;

        public static async Task<BenchNode> StartAsync(string connectionString, string schema, string nodeId, string? localJournal = null, int? commitsInFlight = null)
        {
            var node = new BenchNode();
            var options = new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId };
            node.Cluster = await PostgresCluster.StartAsync(node.Node, commitsInFlight is { } inFlight ? options with { MaxCommitsInFlight = inFlight } : options);
            var supervisor = await Supervisor.StartAsync(node.Node, new SupervisorOptions
            {
                Children =
                [
                    TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }),
                    ChildSpec.ForGenServer("writer", () => new BatchWriter(node._table), new GenServerOptions { Name = "writer" }),
                    ClusteredTable.ChildSpec<long, long>(node.Cluster, new ClusteredTableOptions
                    {
                        Name = "ledger",
                        ManagerName = "manager",
                        WorkerName = "writer",
                        WritesWaitForCommit = false,
                        LocalJournal = localJournal is null ? null : new Persistence.DurabilityOptions(localJournal),
                    }, id: "clustered"),
                ],
            });
            node.Server = (await Supervisor.WhichChildrenAsync(supervisor)).Single(c => c.Id == "clustered").Pid;
            return node;
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                await Node.DisposeAsync();
                await Cluster.DisposeAsync();
            }
        }
    }

    private sealed class BatchWriter(TaskCompletionSource<Table<long, long>> got) : TableWorker<long, long>
    {
        protected override ValueTask OnTableAsync(Table<long, long> table, object? gift)
        {
            got.TrySetResult(table);
            return ValueTask.CompletedTask;
        }

        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case long key:
                    Table.Insert(key, key);
                    break;
                case KeyValuePair<long, long>[] batch:
                    Table.Insert(batch);
                    break;
            }

            return ValueTask.FromResult(ReplyWhenDurable(from, 0L));
        }
    }
}
