using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;

namespace Heirloom.Peers;

/// <summary>Akka.NET's side: untyped actors with Tell, Ask from outside, a parent with a OneForOneStrategy, and
/// Akka.Persistence with its in-memory journal. Logging is off, as Heirloom's reports go to no sink here.</summary>
internal sealed class AkkaPeer : IPeer
{
    private ActorSystem _system = null!;
    private int _round;

    public string Name => "Akka.NET";

    public IReadOnlyDictionary<string, string> Patterns { get; } = new Dictionary<string, string>
    {
        ["ping"] = "UntypedActor pinger Tells an echo actor, which Tells Sender back",
        ["spawn"] = "Context.ActorOf from a parent actor, Tell, the child Tells back and Context.Stop(Self)",
        ["skynet"] = "Context.ActorOf children, sums Told to Context.Parent",
        ["call"] = "Ask<T> from plain async code (default ask-timeout: none)",
        ["restart"] = "parent with OneForOneStrategy(Restart); the child throws and restarts in place, the next Ask waits in its mailbox",
        ["memory"] = "idle UntypedActors, children of one parent",
        ["state"] = "ReceivePersistentActor, in-memory journal: 100,000 events PersistAll'ed, replayed on restart",
    };

    public Task StartAsync()
    {
        var config = ConfigurationFactory.ParseString("""
            akka.loglevel = OFF
            akka.stdout-loglevel = OFF
            akka.log-dead-letters = off
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """);
        _system = ActorSystem.Create("peers", config);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    private sealed record Start(IActorRef Target, int Count, TaskCompletionSource<double> Done);

    private sealed class Echo : UntypedActor
    {
        protected override void OnReceive(object message) => Sender.Tell(message, Self);
    }

    /// <summary>Sends to its target and, on each reply, again, until its count is done.</summary>
    private sealed class Pinger : UntypedActor
    {
        private Start? _start;
        private int _left;

        protected override void OnReceive(object message)
        {
            if (message is Start start)
            {
                _start = start;
                _left = start.Count;
                start.Target.Tell("ping", Self);
            }
            else if (--_left > 0)
            {
                _start!.Target.Tell(message, Self);
            }
            else
            {
                _start!.Done.SetResult(0);
            }
        }
    }

    public async Task<double> PingPongAsync(int roundTrips)
    {
        var echo = _system.ActorOf(Props.Create<Echo>());
        var pinger = _system.ActorOf(Props.Create<Pinger>());
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        pinger.Tell(new Start(echo, roundTrips, done));
        await done.Task;
        var result = Timing.NanosecondsPer(start, roundTrips);
        _system.Stop(echo);
        _system.Stop(pinger);
        return result;
    }

    public async Task<double> PingPongPairsAsync(int pairs, int roundTrips)
    {
        var each = roundTrips / pairs;
        var actors = Enumerable.Range(0, pairs).Select(_ => (Echo: _system.ActorOf(Props.Create<Echo>()), Pinger: _system.ActorOf(Props.Create<Pinger>()))).ToArray();
        var done = actors.Select(_ => new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < pairs; i++)
        {
            actors[i].Pinger.Tell(new Start(actors[i].Echo, each, done[i]));
        }

        await Task.WhenAll(done.Select(d => d.Task));
        var result = Timing.MillionPerSecond(start, 2L * each * pairs);
        foreach (var (echo, pinger) in actors)
        {
            _system.Stop(echo);
            _system.Stop(pinger);
        }

        return result;
    }

    private sealed class Child : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            Sender.Tell(message, Self);
            Context.Stop(Self);
        }
    }

    /// <summary>Spawns a child, Tells it, and on its answer spawns the next, until its count is done.</summary>
    private sealed class Spawner : UntypedActor
    {
        private static readonly Props ChildProps = Props.Create<Child>();
        private Start? _start;
        private int _left;

        protected override void OnReceive(object message)
        {
            if (message is Start start)
            {
                _start = start;
                _left = start.Count;
            }
            else if (--_left == 0)
            {
                _start!.Done.SetResult(0);
                return;
            }

            Context.ActorOf(ChildProps).Tell("hello", Self);
        }
    }

    public async Task<double> SpawnAsync(int actors)
    {
        var spawner = _system.ActorOf(Props.Create<Spawner>());
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        spawner.Tell(new Start(ActorRefs.Nobody, actors, done));
        await done.Task;
        var result = Timing.NanosecondsPer(start, actors);
        _system.Stop(spawner);
        return result;
    }

    private sealed record Span(long Number, long Size);

    private sealed class Skynet : UntypedActor
    {
        private static readonly Props SkynetProps = Props.Create<Skynet>();
        private long _sum;
        private int _todo = 10;

        protected override void OnReceive(object message)
        {
            if (message is Span span)
            {
                if (span.Size == 1)
                {
                    Context.Parent.Tell(span.Number);
                    Context.Stop(Self);
                    return;
                }

                var child = span.Size / 10;
                for (var i = 0; i < 10; i++)
                {
                    Context.ActorOf(SkynetProps).Tell(new Span(span.Number + (i * child), child));
                }
            }
            else
            {
                _sum += (long)message;
                if (--_todo == 0)
                {
                    Context.Parent.Tell(_sum);
                    Context.Stop(Self);
                }
            }
        }
    }

    /// <summary>Starts Skynet's root and completes with its sum.</summary>
    private sealed class SkynetRoot(long leaves, TaskCompletionSource<long> done) : UntypedActor
    {
        protected override void PreStart() => Context.ActorOf(Props.Create<Skynet>()).Tell(new Span(0, leaves));

        protected override void OnReceive(object message) => done.SetResult((long)message);
    }

    public async Task<double> SkynetAsync(int leaves)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();
        var root = _system.ActorOf(Props.Create(() => new SkynetRoot(leaves, done)));
        var sum = await done.Task;
        var result = Timing.Milliseconds(start);
        _system.Stop(root);
        Timing.Check(sum == Timing.SkynetSum(leaves), $"Akka's Skynet summed to {sum}");
        return result;
    }

    public async Task<double> CallFromOutsideAsync(int calls)
    {
        var echo = _system.ActorOf(Props.Create<Echo>());
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await echo.Ask<object>("ping");
        }

        var result = Timing.NanosecondsPer(start, calls);
        _system.Stop(echo);
        return result;
    }

    /// <summary>Throws on "crash", echoes anything else.</summary>
    private sealed class Crashing : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            if (message is "crash")
            {
                throw new InvalidOperationException("crash");
            }

            Sender.Tell(message, Self);
        }
    }

    /// <summary>Creates one child from its props and restarts it in place on every failure; answers any message with it.</summary>
    private sealed class Parent(Props child) : UntypedActor
    {
        private IActorRef _child = ActorRefs.Nobody;

        protected override void PreStart() => _child = Context.ActorOf(child, "child");

        protected override void OnReceive(object message) => Sender.Tell(_child);

        protected override SupervisorStrategy SupervisorStrategy() =>
            new OneForOneStrategy(-1, -1, _ => Directive.Restart, loggingEnabled: false);
    }

    public async Task<double[]> RestartAsync(int restarts)
    {
        var parent = _system.ActorOf(Props.Create(() => new Parent(Props.Create<Crashing>())));
        var child = await parent.Ask<IActorRef>("child");
        var times = new double[restarts];
        for (var i = 0; i < restarts; i++)
        {
            var start = Stopwatch.GetTimestamp();
            child.Tell("crash");
            await child.Ask<object>("ping");
            times[i] = Timing.Microseconds(start);
        }

        _system.Stop(parent);
        return times;
    }

    private sealed class Idle : UntypedActor
    {
        protected override void OnReceive(object message)
        {
        }
    }

    /// <summary>Spawns its count of idle children and answers once they are created.</summary>
    private sealed class Holder : UntypedActor
    {
        private static readonly Props IdleProps = Props.Create<Idle>();

        protected override void OnReceive(object message)
        {
            for (var i = 0; i < (int)message; i++)
            {
                Context.ActorOf(IdleProps);
            }

            Sender.Tell("created");
        }
    }

    public async Task<double> MemoryPerIdleActorAsync(int actors)
    {
        var before = await Timing.SettledHeapAsync();
        var holder = _system.ActorOf(Props.Create<Holder>());
        await holder.Ask<object>(actors);
        var after = await Timing.SettledHeapAsync();
        await holder.GracefulStop(TimeSpan.FromMinutes(1));
        return (after - before) / (double)actors;
    }

    private sealed record Entry(long Key, long Value);

    /// <summary>Keeps a dictionary as events in the journal: fills it with PersistAll, throws on "crash", answers
    /// "count" once recovered (commands wait while it recovers).</summary>
    private sealed class Keeper : ReceivePersistentActor
    {
        private readonly Dictionary<long, long> _entries = [];

        public Keeper(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<Entry>(e => _entries[e.Key] = e.Value);
            Command<int>(count =>
            {
                var sender = Sender;
                PersistAll(Enumerable.Range(0, count).Select(i => new Entry(i, i)), e =>
                {
                    _entries[e.Key] = e.Value;
                    if (_entries.Count == count)
                    {
                        sender.Tell((long)_entries.Count);
                    }
                });
            });
            Command<string>(command =>
            {
                if (command == "crash")
                {
                    throw new InvalidOperationException("crash");
                }

                Sender.Tell((long)_entries.Count);
            });
        }

        public override string PersistenceId { get; }
    }

    public async Task<double> StateAfterCrashAsync(int entries)
    {
        var id = $"keeper{Interlocked.Increment(ref _round)}";
        var parent = _system.ActorOf(Props.Create(() => new Parent(Props.Create(() => new Keeper(id)))));
        var keeper = await parent.Ask<IActorRef>("child");
        await keeper.Ask<long>(entries);
        var start = Stopwatch.GetTimestamp();
        keeper.Tell("crash");
        var count = await keeper.Ask<long>("count");
        var result = Timing.Milliseconds(start);
        Timing.Check(count == entries, $"Akka's keeper served {count} entries after its crash");
        _system.Stop(parent);
        return result;
    }
}
