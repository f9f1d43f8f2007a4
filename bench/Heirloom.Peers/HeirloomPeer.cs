using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Processes;

namespace Heirloom.Peers;

/// <summary>Heirloom's side: processes with receive, GenServer, Supervisor, TableManager with a TableWorker.</summary>
internal sealed class HeirloomPeer : IPeer
{
    private readonly Node _node = new();
    private int _round;

    private sealed record Ping(Pid From);

    public string Name => "Heirloom";

    public IReadOnlyDictionary<string, string> Patterns { get; } = new Dictionary<string, string>
    {
        ["ping"] = "processes: Send to an echo process, ReceiveAsync the reply",
        ["spawn"] = "Spawn from a process, Send one message, the child answers and returns",
        ["skynet"] = "processes spawned with Spawn, sums sent to the parent's pid",
        ["call"] = "GenServer.CallAsync(pid, request) from plain async code (default timeout 5 s)",
        ["restart"] = "Supervisor (one_for_one) with a registered GenServer child that throws in HandleCastAsync; the next call by its name waits for the new incarnation (QueuedCallsOnCrash.HandToSuccessor)",
        ["memory"] = "processes parked in ReceiveAsync",
        ["state"] = "TableManager + TableWorker<long, long>: the table passes to the worker's new incarnation",
    };

    public Task StartAsync() => Task.CompletedTask;

    public ValueTask DisposeAsync() => _node.DisposeAsync();

    public Task<double> PingPongAsync(int roundTrips) => Run(async ctx =>
    {
        var echo = ctx.Spawn(static async c =>
        {
            while (await c.ReceiveAsync() is Ping ping)
            {
                ping.From.Send(ping);
            }
        });
        var message = new Ping(ctx.Self);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < roundTrips; i++)
        {
            echo.Send(message);
            await ctx.ReceiveAsync();
        }

        var result = Timing.NanosecondsPer(start, roundTrips);
        echo.Send("stop");
        return result;
    });

    public async Task<double> PingPongPairsAsync(int pairs, int roundTrips)
    {
        var each = roundTrips / pairs;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, pairs).Select(_ => Run(async ctx =>
        {
            var echo = ctx.Spawn(static async c =>
            {
                while (await c.ReceiveAsync() is Ping ping)
                {
                    ping.From.Send(ping);
                }
            });
            var message = new Ping(ctx.Self);
            for (var i = 0; i < each; i++)
            {
                echo.Send(message);
                await ctx.ReceiveAsync();
            }

            echo.Send("stop");
            return 0.0;
        })));
        return Timing.MillionPerSecond(start, 2L * each * pairs);
    }

    public Task<double> SpawnAsync(int actors) => Run(async ctx =>
    {
        Func<ProcessContext, Task> child = static async c =>
        {
            var ping = (Ping)await c.ReceiveAsync();
            ping.From.Send("done");
        };
        var message = new Ping(ctx.Self);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < actors; i++)
        {
            ctx.Spawn(child).Send(message);
            await ctx.ReceiveAsync();
        }

        return Timing.NanosecondsPer(start, actors);
    });

    public async Task<double> SkynetAsync(int leaves)
    {
        var start = Stopwatch.GetTimestamp();
        var sum = await Run(async ctx =>
        {
            var self = ctx.Self;
            ctx.Spawn(c => Skynet(c, 0, leaves, self));
            return (long)await ctx.ReceiveAsync();
        });
        var result = Timing.Milliseconds(start);
        Timing.Check(sum == Timing.SkynetSum(leaves), $"Heirloom's Skynet summed to {sum}");
        return result;
    }

    private static async Task Skynet(ProcessContext ctx, long number, long size, Pid parent)
    {
        if (size == 1)
        {
            parent.Send(number);
            return;
        }

        var self = ctx.Self;
        var child = size / 10;
        for (var i = 0; i < 10; i++)
        {
            var first = number + (i * child);
            ctx.Spawn(c => Skynet(c, first, child, self));
        }

        long sum = 0;
        for (var i = 0; i < 10; i++)
        {
            sum += (long)await ctx.ReceiveAsync();
        }

        parent.Send(sum);
    }

    public async Task<double> CallFromOutsideAsync(int calls)
    {
        var server = await GenServer.StartAsync(_node, static () => new EchoServer());
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await GenServer.CallAsync(server, "ping");
        }

        var result = Timing.NanosecondsPer(start, calls);
        await GenServer.StopAsync(server);
        return result;
    }

    public async Task<double[]> RestartAsync(int restarts)
    {
        // OTP's idiom for a supervised server: callers name it, and its calls queued at the crash go to the
        // incarnation the supervisor starts (QueuedCallsOnCrash.HandToSuccessor), as a peer's next message waits in
        // the mailbox of the actor restarted in place. The reply carries the incarnation that answered.
        var name = $"restart{Interlocked.Increment(ref _round)}";
        var incarnation = new StrongBox<long>();
        var supervisor = await Supervisor.StartAsync(_node, new SupervisorOptions
        {
            Intensity = int.MaxValue,
            Period = TimeSpan.FromSeconds(1),
            Children =
            [
                ChildSpec.ForGenServer(
                    "worker",
                    () => new CrashingServer(incarnation),
                    new GenServerOptions { Name = name, QueuedCallsOnCrash = QueuedCallsOnCrash.HandToSuccessor }),
            ],
        });
        var times = new double[restarts];
        for (var i = 0; i < restarts; i++)
        {
            var before = Volatile.Read(ref incarnation.Value);
            var start = Stopwatch.GetTimestamp();
            GenServer.Cast(_node, name, "crash");
            var answered = await GenServer.CallAsync<long>(_node, name, "ping");
            times[i] = Timing.Microseconds(start);
            Timing.Check(answered == before + 1, $"Heirloom's call after crash {i} was answered by incarnation {answered}, not {before + 1}");
        }

        await GenServer.StopAsync(supervisor, ExitReason.Shutdown);
        return times;
    }

    public async Task<double> MemoryPerIdleActorAsync(int actors)
    {
        var pids = new Pid[actors];
        var before = await Timing.SettledHeapAsync();
        for (var i = 0; i < actors; i++)
        {
            pids[i] = _node.Spawn(static async ctx => await ctx.ReceiveAsync());
        }

        var after = await Timing.SettledHeapAsync();
        foreach (var pid in pids)
        {
            _node.Exit(pid, ExitReason.Kill);
        }

        return (after - before) / (double)actors;
    }

    public async Task<double> StateAfterCrashAsync(int entries)
    {
        var incarnations = Channel.CreateUnbounded<Pid>();
        var round = Interlocked.Increment(ref _round);
        var table = $"state{round}";
        var worker = $"state_worker{round}";
        var supervisor = await Supervisor.StartAsync(_node, new SupervisorOptions
        {
            Intensity = int.MaxValue,
            Period = TimeSpan.FromSeconds(1),
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Tables = [ManagedTable.For<long, long>(table) with { FindMeName = worker }] }),
                ChildSpec.ForGenServer("worker", () => new StateWorker(incarnations.Writer), new GenServerOptions { Name = worker }),
            ],
        });
        var current = await incarnations.Reader.ReadAsync();
        await GenServer.CallAsync(current, entries);
        var start = Stopwatch.GetTimestamp();
        GenServer.Cast(current, "crash");
        current = await incarnations.Reader.ReadAsync();
        var count = await GenServer.CallAsync<long>(current, "count");
        var result = Timing.Milliseconds(start);
        Timing.Check(count == entries, $"Heirloom's worker served {count} entries after its crash");
        await GenServer.StopAsync(supervisor, ExitReason.Shutdown);
        return result;
    }

    private Task<T> Run<T>(Func<ProcessContext, Task<T>> body)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _node.Spawn(async ctx =>
        {
            try
            {
                result.SetResult(await body(ctx));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }

    private sealed class EchoServer : GenServer
    {
        protected override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(request));
    }

    /// <summary>Counts its incarnations in InitAsync and answers a call with its own; throws on the cast "crash".</summary>
    private sealed class CrashingServer(StrongBox<long> incarnations) : GenServer
    {
        private long _incarnation;

        protected override ValueTask<InitResult> InitAsync()
        {
            _incarnation = Interlocked.Increment(ref incarnations.Value);
            return ValueTask.FromResult(InitResult.Ok);
        }

        protected override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            ValueTask.FromResult(CallResult.Reply(_incarnation));

        protected override ValueTask<ServerResult> HandleCastAsync(object message) =>
            throw new InvalidOperationException("crash");
    }

    /// <summary>Fills its table on a call with a count, answers "count" from it, throws on the cast "crash".</summary>
    private sealed class StateWorker(ChannelWriter<Pid> incarnations) : TableWorker<long, long>
    {
        protected override ValueTask<InitResult> InitAsync()
        {
            incarnations.TryWrite(Self);
            return ValueTask.FromResult(InitResult.Ok);
        }

        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            if (request is int entries)
            {
                for (long i = 0; i < entries; i++)
                {
                    Table.Insert(i, i);
                }
            }

            return ValueTask.FromResult(CallResult.Reply(Table.Count));
        }

        protected override ValueTask<ServerResult> HandleTableCastAsync(object message) =>
            throw new InvalidOperationException("crash");
    }
}
