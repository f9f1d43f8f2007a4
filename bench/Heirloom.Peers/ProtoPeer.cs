using System.Diagnostics;
using Proto;

namespace Heirloom.Peers;

/// <summary>Proto.Actor's side: IActor with Send and explicit reply pids, RequestAsync from outside, a parent with a
/// OneForOneStrategy. Proto.Actor has no persistence package on the registry here, so its state row is n/a.</summary>
internal sealed class ProtoPeer : IPeer
{
    private readonly ActorSystem _system = new();

    private IRootContext Root => _system.Root;

    public string Name => "Proto.Actor";

    public IReadOnlyDictionary<string, string> Patterns { get; } = new Dictionary<string, string>
    {
        ["ping"] = "IActor pinger Sends to an echo actor with its own PID in the message, the echo Sends back",
        ["spawn"] = "context.Spawn from a parent actor, Send, the child Sends back and context.Stop(Self)",
        ["skynet"] = "context.Spawn children, sums Sent to context.Parent",
        ["call"] = "Root.RequestAsync<T> from plain async code (default timeout)",
        ["restart"] = "parent with OneForOneStrategy(Restart); the child throws and restarts in place, the next RequestAsync waits in its mailbox",
        ["memory"] = "idle IActors spawned from Root",
        ["state"] = "n/a: Proto.Persistence is not available here",
    };

    public Task StartAsync() => Task.CompletedTask;

    public async ValueTask DisposeAsync() => await _system.ShutdownAsync();

    private sealed record Ping(PID From);

    private sealed record Start(PID Target, int Count, TaskCompletionSource<double> Done);

    private sealed class Echo : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is Ping ping)
            {
                context.Send(ping.From, ping);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class Pinger : IActor
    {
        private Start? _start;
        private Ping? _ping;
        private int _left;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Start start:
                    _start = start;
                    _left = start.Count;
                    _ping = new Ping(context.Self);
                    context.Send(start.Target, _ping);
                    break;
                case Ping when --_left > 0:
                    context.Send(_start!.Target, _ping!);
                    break;
                case Ping:
                    _start!.Done.SetResult(0);
                    break;
            }

            return Task.CompletedTask;
        }
    }

    public async Task<double> PingPongAsync(int roundTrips)
    {
        var echo = Root.Spawn(Props.FromProducer(() => new Echo()));
        var pinger = Root.Spawn(Props.FromProducer(() => new Pinger()));
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        Root.Send(pinger, new Start(echo, roundTrips, done));
        await done.Task;
        var result = Timing.NanosecondsPer(start, roundTrips);
        await Root.StopAsync(echo);
        await Root.StopAsync(pinger);
        return result;
    }

    public async Task<double> PingPongPairsAsync(int pairs, int roundTrips)
    {
        var each = roundTrips / pairs;
        var actors = Enumerable.Range(0, pairs).Select(_ => (Echo: Root.Spawn(Props.FromProducer(() => new Echo())), Pinger: Root.Spawn(Props.FromProducer(() => new Pinger())))).ToArray();
        var done = actors.Select(_ => new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < pairs; i++)
        {
            Root.Send(actors[i].Pinger, new Start(actors[i].Echo, each, done[i]));
        }

        await Task.WhenAll(done.Select(d => d.Task));
        var result = Timing.MillionPerSecond(start, 2L * each * pairs);
        foreach (var (echo, pinger) in actors)
        {
            await Root.StopAsync(echo);
            await Root.StopAsync(pinger);
        }

        return result;
    }

    private sealed class Child : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            if (context.Message is Ping ping)
            {
                context.Send(ping.From, ping);
                context.Stop(context.Self);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class Spawner : IActor
    {
        private static readonly Props ChildProps = Props.FromProducer(() => new Child());
        private Start? _start;
        private Ping? _ping;
        private int _left;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Start start:
                    _start = start;
                    _left = start.Count;
                    _ping = new Ping(context.Self);
                    break;
                case Ping when --_left == 0:
                    _start!.Done.SetResult(0);
                    return Task.CompletedTask;
                case Ping:
                    break;
                default:
                    return Task.CompletedTask;
            }

            context.Send(context.Spawn(ChildProps), _ping!);
            return Task.CompletedTask;
        }
    }

    public async Task<double> SpawnAsync(int actors)
    {
        var spawner = Root.Spawn(Props.FromProducer(() => new Spawner()));
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        Root.Send(spawner, new Start(spawner, actors, done));
        await done.Task;
        var result = Timing.NanosecondsPer(start, actors);
        await Root.StopAsync(spawner);
        return result;
    }

    private sealed record Span(long Number, long Size);

    private sealed class Skynet : IActor
    {
        public static readonly Props SkynetProps = Props.FromProducer(() => new Skynet());
        private long _sum;
        private int _todo = 10;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Span { Size: 1 } leaf:
                    context.Send(context.Parent!, leaf.Number);
                    context.Stop(context.Self);
                    break;
                case Span span:
                    var child = span.Size / 10;
                    for (var i = 0; i < 10; i++)
                    {
                        context.Send(context.Spawn(SkynetProps), new Span(span.Number + (i * child), child));
                    }

                    break;
                case long value:
                    _sum += value;
                    if (--_todo == 0)
                    {
                        context.Send(context.Parent!, _sum);
                        context.Stop(context.Self);
                    }

                    break;
            }

            return Task.CompletedTask;
        }
    }

    private sealed class SkynetRoot(long leaves, TaskCompletionSource<long> done) : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Started:
                    context.Send(context.Spawn(Skynet.SkynetProps), new Span(0, leaves));
                    break;
                case long sum:
                    done.SetResult(sum);
                    break;
            }

            return Task.CompletedTask;
        }
    }

    public async Task<double> SkynetAsync(int leaves)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        var root = Root.Spawn(Props.FromProducer(() => new SkynetRoot(leaves, done)));
        var sum = await done.Task;
        var result = Timing.Milliseconds(start);
        await Root.StopAsync(root);
        Timing.Check(sum == Timing.SkynetSum(leaves), $"Proto.Actor's Skynet summed to {sum}");
        return result;
    }

    private sealed class Responder : IActor
    {
        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case "crash":
                    throw new InvalidOperationException("crash");
                case string request:
                    context.Respond(request);
                    break;
            }

            return Task.CompletedTask;
        }
    }

    public async Task<double> CallFromOutsideAsync(int calls)
    {
        var echo = Root.Spawn(Props.FromProducer(() => new Responder()));
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await Root.RequestAsync<string>(echo, "ping");
        }

        var result = Timing.NanosecondsPer(start, calls);
        await Root.StopAsync(echo);
        return result;
    }

    /// <summary>Spawns one child and restarts it in place on every failure; answers any request with its PID.</summary>
    private sealed class Parent : IActor
    {
        private PID? _child;

        public Task ReceiveAsync(IContext context)
        {
            switch (context.Message)
            {
                case Started:
                    _child = context.Spawn(Props.FromProducer(() => new Responder()));
                    break;
                case string:
                    context.Respond(_child!);
                    break;
            }

            return Task.CompletedTask;
        }
    }

    public async Task<double[]> RestartAsync(int restarts)
    {
        var strategy = new Proto.OneForOneStrategy((_, _) => SupervisorDirective.Restart, int.MaxValue, null);
        var parent = Root.Spawn(Props.FromProducer(() => new Parent()).WithChildSupervisorStrategy(strategy));
        var child = await Root.RequestAsync<PID>(parent, "child");
        var times = new double[restarts];
        for (var i = 0; i < restarts; i++)
        {
            var start = Stopwatch.GetTimestamp();
            Root.Send(child, "crash");
            await Root.RequestAsync<string>(child, "ping");
            times[i] = Timing.Microseconds(start);
        }

        await Root.StopAsync(parent);
        return times;
    }

    private sealed class Idle : IActor
    {
        public Task ReceiveAsync(IContext context) => Task.CompletedTask;
    }

    public async Task<double> MemoryPerIdleActorAsync(int actors)
    {
        var props = Props.FromProducer(() => new Idle());
        var pids = new PID[actors];
        var before = await Timing.SettledHeapAsync();
        for (var i = 0; i < actors; i++)
        {
            pids[i] = Root.Spawn(props);
        }

        var after = await Timing.SettledHeapAsync();
        foreach (var pid in pids)
        {
            Root.Stop(pid);
        }

        return (after - before) / (double)actors;
    }

    public Task<double> StateAfterCrashAsync(int entries) => Task.FromResult(double.NaN);
}
