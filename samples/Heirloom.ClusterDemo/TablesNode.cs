using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Postgres;
using Heirloom.Processes;

namespace Heirloom.ClusterDemo;

/// <summary>
/// A node serving many clustered tables (<c>t0000</c>, <c>t0001</c>, ...), run as its own OS process: a table manager
/// and, for each table, a worker and the table's server, under one supervisor at the default restart intensity. It
/// tells the process that started it, one line per event on standard output, each after the event's time (Stopwatch
/// ticks): <c>READY</c>, <c>OWN &lt;table&gt;</c>
/// when a worker gets its table, <c>GONE &lt;table&gt;</c> when it loses it, <c>SEAL &lt;table&gt;</c> when a planned
/// hand-off stops the table taking writes, <c>ACK &lt;table&gt; &lt;key&gt;</c> per committed write. A line <c>W &lt;table&gt; &lt;key&gt;</c> on standard input writes the key. Stopped gracefully
/// (SIGTERM), it stops its tables first, which hands each owned table to another node.
/// </summary>
internal static class TablesNode
{
    public static string TableName(int i) => $"t{i:0000}";

    public static async Task<int> RunAsync(string connectionString, string schema, string nodeId, int tables, CancellationToken stopping)
    {
        var output = Console.Out;
        var gate = new Lock();
        // Each line starts with when its event happened (Stopwatch ticks: the system's monotonic clock, which every
        // process on the machine shares), so a reader measures the event, not when its pipe delivered the line.
        void Line(string line)
        {
            var at = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (gate)
            {
                output.WriteLine($"{at} {line}");
                output.Flush();
            }
        }

        // SIGTERM stops the node gracefully: the runtime's default would end the process once the exit handlers ran,
        // before the tables were handed off.
        using var terminated = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            terminated.Cancel();
        });
        stopping = terminated.Token;
        var node = new Node();
        var cluster = await PostgresCluster.StartAsync(node, new PostgresClusterOptions { ConnectionString = connectionString, Schema = schema, NodeId = nodeId }, new TablesLogger(nodeId, Line), stopping);
        try
        {
            var children = new List<ChildSpec> { TableManager.ChildSpec(new TableManagerOptions { Name = "manager" }) };
            for (var i = 0; i < tables; i++)
            {
                var name = TableName(i);
                children.Add(ChildSpec.ForGenServer($"w{i}", () => new KeeperWorker(name, Line), new GenServerOptions { Name = $"w{i}" }));
                children.Add(ClusteredTable.ChildSpec<long, long>(cluster, new ClusteredTableOptions { Name = name, ManagerName = "manager", WorkerName = $"w{i}", WritesWaitForCommit = false }));
            }

            await Supervisor.StartAsync(node, new SupervisorOptions { Children = children });
            Line($"READY {nodeId}");
            await WriteFromInputAsync(node, Line, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            // The tables' servers first (each hands its table off after its last commit), then the membership.
            await node.DisposeAsync();
            await cluster.DisposeAsync();
        }

        return 0;
    }

    /// <summary>Writes each key asked for on standard input through its table's worker; the answer (or failure) is
    /// reported, so the caller knows exactly which writes were acknowledged.</summary>
    private static async Task WriteFromInputAsync(Node node, Action<string> line, CancellationToken stopping)
    {
        var input = Console.In;
        var stopped = new TaskCompletionSource();
        await using var registration = stopping.Register(() => stopped.TrySetResult());
        while (true)
        {
            var next = input.ReadLineAsync(stopping).AsTask();
            if (await Task.WhenAny(next, stopped.Task) != next || await next is not { } request)
            {
                await stopped.Task;     // input closed: run until stopped
                return;
            }

            if (request.Split(' ') is ["W", var table, var text])
            {
                var key = long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await GenServer.CallAsync<long>(node, $"w{int.Parse(table[1..], System.Globalization.CultureInfo.InvariantCulture)}", key, TimeSpan.FromSeconds(5), stopping);
                        line($"ACK {table} {key}");
                    }
                    catch (Exception)
                    {
                        line($"NAK {table} {key}");
                    }
                }, CancellationToken.None);
            }
        }
    }

    /// <summary>A table's worker: writes one key per call (answered once committed) and reports the table coming and
    /// going.</summary>
    private sealed class KeeperWorker(string name, Action<string> line) : TableWorker<long, long>
    {
        protected override ValueTask OnTableAsync(Heirloom.Tables.Table<long, long> table, object? gift)
        {
            line($"OWN {name}");
            return ValueTask.CompletedTask;
        }

        protected override ValueTask OnTableWithdrawnAsync(Heirloom.Tables.TableWithdrawnException reason)
        {
            line($"GONE {name}");
            return ValueTask.CompletedTask;
        }

        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            var key = (long)request;
            Table.Insert(key, key);
            return ValueTask.FromResult(ReplyWhenDurable(from, key));
        }
    }
}
