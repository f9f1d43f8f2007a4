using System.Diagnostics;

namespace Heirloom.WebSample.Tests;

/// <summary>The built web sample (<c>dotnet Heirloom.WebSample.dll</c>) as its own OS process, in cluster mode, on a
/// free loopback port it reports once listening. Killing it is SIGKILL.</summary>
internal sealed class ReplicaProcess : IAsyncDisposable
{
    private static readonly string s_program = typeof(CounterApp).Assembly.Location;

    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;

    private ReplicaProcess(string nodeId, Process process)
    {
        NodeId = nodeId;
        _process = process;
        _reading = Task.WhenAll(Task.Run(() => ReadAsync(_process.StandardOutput)), Task.Run(() => ReadAsync(_process.StandardError)));
    }

    public string NodeId { get; }

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The process's last lines of output, for a failure's message.</summary>
    public Queue<string> Output { get; } = new();

    public static async Task<ReplicaProcess> StartAsync(string connectionString, string schema, string nodeId)
    {
        var start = new ProcessStartInfo
        {
            FileName = "dotnet",
            WorkingDirectory = Path.GetDirectoryName(s_program)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[
            s_program,
            "--urls", "http://127.0.0.1:0",
            "--Heirloom:Cluster:ConnectionString", connectionString,
            "--Heirloom:Cluster:Schema", schema,
            "--Heirloom:Cluster:NodeId", nodeId,
            "--Heirloom:Router:ListenAddress", "127.0.0.1",
            "--Heirloom:Router:Port", "0",
            "--Heirloom:Router:Secret", "the replicas' shared secret, for the test",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime", "Information"])
        {
            start.ArgumentList.Add(argument);
        }

        var replica = new ReplicaProcess(nodeId, Process.Start(start)!);
        var listening = await Task.WhenAny(replica._listening.Task, replica._reading, Task.Delay(TimeSpan.FromSeconds(60)));
        if (listening != replica._listening.Task)
        {
            await replica.DisposeAsync();
            throw new InvalidOperationException(
                $"Replica {nodeId} did not start: it {(listening == replica._reading ? "exited" : "was not listening within 60 s")}. " +
                $"Its output:{Environment.NewLine}{string.Join(Environment.NewLine, replica.Output)}");
        }

        replica.Client = new HttpClient { BaseAddress = await replica._listening.Task, Timeout = TimeSpan.FromSeconds(30) };
        return replica;
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }
    }

    /// <summary>Kills the process and waits until it has exited: its sockets are closed.</summary>
    public async Task KillAndWaitAsync()
    {
        Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        await _reading;
        Client?.Dispose();
        _process.Dispose();
    }

    private async Task ReadAsync(StreamReader reader)
    {
        const string Marker = "Now listening on: ";
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (Output)
            {
                Output.Enqueue(line);
                if (Output.Count > 50)
                {
                    Output.Dequeue();
                }
            }

            if (line.IndexOf(Marker, StringComparison.Ordinal) is >= 0 and var at)
            {
                _listening.TrySetResult(new Uri(line[(at + Marker.Length)..].Trim()));
            }
        }
    }
}
