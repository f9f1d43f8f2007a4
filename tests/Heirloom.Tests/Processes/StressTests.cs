using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Processes;

public sealed class StressTests(ITestOutputHelper output)
{
    private sealed record Sequenced(int Sender, int Seq);

    private sealed record Finished(int Sender, int Count);

    private sealed record Tally(Dictionary<int, int> Received, HashSet<int> Finished);

    private sealed record ReportTo(Pid Pid);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Senders_under_random_kills_lose_and_reorder_nothing_and_monitors_fire_once(int round)
    {
        var seed = Environment.TickCount ^ round;
        output.WriteLine($"seed {seed}");
        const int Receivers = 8, Senders = 64, PerReceiver = 300;
        await using var node = new Node();

        var receivers = Enumerable.Range(0, Receivers).Select(_ => node.Spawn(ReceiverBody)).ToArray();
        var result = await node.Run(async ctx =>
        {
            var random = new Random(seed);
            var monitors = new Dictionary<MonitorRef, int>();
            for (var s = 0; s < Senders; s++)
            {
                var id = s;
                var senderSeed = random.Next();
                var (_, monitor) = ctx.SpawnMonitor(c => SenderBody(c, id, senderSeed, receivers, PerReceiver));
                monitors[monitor] = id;
            }

            // The killer picks random senders at random moments, with untrappable and ordinary reasons.
            var pids = node.Processes().Except(receivers).Where(p => p != ctx.Self).ToArray();
            var killer = ctx.Spawn(async c =>
            {
                var r = new Random(seed + 1);
                foreach (var victim in pids.OrderBy(_ => r.Next()).Take(Senders / 3))
                {
                    for (var spin = r.Next(200); spin > 0; spin--)
                    {
                        await Task.Yield();
                    }

                    c.Exit(victim, r.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("chaos"));
                }
            });

            var downs = new Dictionary<MonitorRef, ExitReason>();
            while (downs.Count < Senders)
            {
                var down = await ctx.Receive<Down>();
                Assert.True(monitors.ContainsKey(down.Ref), "a Down for an unknown monitor");
                Assert.True(downs.TryAdd(down.Ref, down.Reason), "a monitor fired twice");
            }

            Assert.Null(await ctx.ReceiveAsync(m => m is Down, TimeSpan.FromMilliseconds(50)));
            var tallies = new List<Tally>();
            foreach (var receiver in receivers)
            {
                receiver.Send(new ReportTo(ctx.Self));
                tallies.Add(await ctx.Receive<Tally>());
            }

            return (downs.ToDictionary(d => monitors[d.Key], d => d.Value), tallies);
        });

        var (reasons, tallies) = result;
        var survivors = reasons.Where(r => r.Value.IsNormal).Select(r => r.Key).ToHashSet();
        output.WriteLine($"{survivors.Count} senders finished, {Senders - survivors.Count} killed");
        Assert.All(reasons.Values, r => Assert.True(r.IsNormal || r == ExitReason.Killed || Equals(r.Term, "chaos"), r.ToString()));
        foreach (var tally in tallies)
        {
            foreach (var sender in survivors)
            {
                Assert.Contains(sender, tally.Finished);
                Assert.Equal(PerReceiver, tally.Received[sender]);
            }
        }
    }

    private static async Task SenderBody(ProcessContext ctx, int id, int seed, Pid[] receivers, int perReceiver)
    {
        var random = new Random(seed);
        var next = new int[receivers.Length];
        for (var sent = 0; sent < receivers.Length * perReceiver; sent++)
        {
            int target;
            do
            {
                target = random.Next(receivers.Length);
            }
            while (next[target] == perReceiver);

            receivers[target].Send(new Sequenced(id, next[target]++));
            switch (random.Next(16))
            {
                case 0:
                    await Task.Yield();
                    break;
                case 1:
                    await ctx.ReceiveAsync(TimeSpan.Zero);
                    break;
            }
        }

        foreach (var receiver in receivers)
        {
            receiver.Send(new Finished(id, perReceiver));
        }
    }

    /// <summary>Checks every sender's messages arrive as a gap-free, in-order prefix; crashes (failing the test) if not.</summary>
    private static async Task ReceiverBody(ProcessContext ctx)
    {
        var received = new Dictionary<int, int>();
        var finished = new HashSet<int>();
        while (true)
        {
            switch (await ctx.ReceiveAsync())
            {
                case Sequenced(var sender, var seq):
                    var expected = received.GetValueOrDefault(sender);
                    if (seq != expected)
                    {
                        throw new InvalidOperationException($"sender {sender}: got {seq}, expected {expected}");
                    }

                    received[sender] = seq + 1;
                    break;
                case Finished(var sender, var count):
                    if (received.GetValueOrDefault(sender) != count)
                    {
                        throw new InvalidOperationException($"sender {sender} finished with {count} but {received.GetValueOrDefault(sender)} arrived");
                    }

                    finished.Add(sender);
                    break;
                case ReportTo(var pid):
                    pid.Send(new Tally(received, finished));
                    break;
            }
        }
    }

    [Fact]
    public async Task Link_chains_die_together_whichever_link_is_killed()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var node = new Node();
        for (var chain = 0; chain < 50; chain++)
        {
            var length = random.Next(2, 20);
            var pids = new List<Pid> { node.Spawn(TestKit.Idle) };
            for (var i = 1; i < length; i++)
            {
                var previous = pids[^1];
                pids.Add(node.Spawn(async ctx =>
                {
                    ctx.Link(previous);
                    await TestKit.Idle(ctx);
                }));
            }

            // Half the chains are killed at the root at once, while the links are still forming (a link to a dead
            // process gives noproc); the others once complete, at a random link. Either way none may survive.
            if (random.Next(2) == 0)
            {
                node.Exit(pids[0], random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("chaos"));
            }
            else
            {
                for (var i = 1; i < length; i++)
                {
                    await LinkTests.WaitUntilLinked(node, pids[i], pids[i - 1]);
                }

                node.Exit(pids[random.Next(length)], random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("chaos"));
            }

            foreach (var pid in pids)
            {
                var reason = await node.Exited(pid);
                Assert.False(reason.IsNormal);
            }
        }
    }

    [Fact]
    public async Task Monitors_fire_exactly_once_under_concurrent_monitor_demonitor_and_exits()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var node = new Node();
        var watchers = Enumerable.Range(0, 16).Select(w => node.Run(async ctx =>
        {
            var random = new Random(seed + w);
            var fired = 0;
            for (var i = 0; i < 200; i++)
            {
                var yields = random.Next(3);
                var target = node.Spawn(async c =>
                {
                    for (var y = 0; y < yields; y++)
                    {
                        await Task.Yield();
                    }
                });
                var monitor = ctx.Monitor(target);
                if (random.Next(4) == 0)
                {
                    // With flush, no Down for this monitor may ever be received, whether or not it had fired.
                    ctx.Demonitor(monitor, flush: true);
                }
                else
                {
                    var down = await ctx.Receive<Down>();
                    Assert.Equal(monitor, down.Ref);
                    fired++;
                }
            }

            Assert.Null(await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(20)));
            return fired;
        })).ToArray();
        var counts = await Task.WhenAll(watchers);
        Assert.All(counts, c => Assert.InRange(c, 1, 200));
    }

    [Fact]
    public async Task A_million_idle_processes_can_exist_at_once()
    {
        const int Count = 1_000_000;
        await using var node = new Node { ShutdownTimeout = TimeSpan.FromSeconds(60) };
        for (var i = 0; i < Count; i++)
        {
            node.Spawn(TestKit.Idle);
        }

        Assert.Equal(Count, node.ProcessCount);
        var last = node.Processes()[^1];
        last.Send("still alive");
        Assert.True(last.IsAlive);
    }

    [Fact]
    public async Task The_process_list_and_count_stay_exact_while_threads_spawn_and_processes_exit_at_random()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        const int Threads = 8, PerThread = 5_000;
        await using var node = new Node();
        var keepers = new System.Collections.Concurrent.ConcurrentBag<Pid>();
        using var stop = new CancellationTokenSource();

        // A reader lists and counts all along: no pid twice, and never more processes than were spawned.
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var listed = node.Processes();
                Assert.Equal(listed.Count, listed.Distinct().Count());
                Assert.InRange(node.ProcessCount, 0, (Threads * PerThread) + 1);
            }
        });

        // Each thread spawns processes that exit at once, after a yield, or when told; a third stay until the end.
        var spawners = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var random = new Random(seed + t);
            for (var i = 0; i < PerThread; i++)
            {
                switch (random.Next(3))
                {
                    case 0:
                        node.Spawn(_ => Task.CompletedTask);
                        break;
                    case 1:
                        node.Spawn(async _ => await Task.Yield());
                        break;
                    default:
                        keepers.Add(node.Spawn(TestKit.ExitWhenTold));
                        break;
                }
            }
        })).ToArray();
        await Task.WhenAll(spawners);

        await TestKit.WaitUntil(() => node.ProcessCount == keepers.Count);
        Assert.Equal(keepers.OrderBy(p => p.ToString()), node.Processes().OrderBy(p => p.ToString()));
        foreach (var keeper in keepers)
        {
            keeper.Send(ExitReason.Normal);
        }

        await Task.WhenAll(keepers.Select(node.Exited));
        Assert.Equal(0, node.ProcessCount);
        Assert.Empty(node.Processes());
        await stop.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task A_waiter_that_sees_an_exit_sees_it_finished_even_while_another_thread_ends_the_process()
    {
        const int Rounds = 1_000;
        await using var node = new Node();
        var heir = node.Spawn(TestKit.Idle);
        for (var round = 0; round < Rounds; round++)
        {
            var name = $"ending-{round}";
            var created = new TaskCompletionSource<Table<int, int>>(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = node.Spawn(async ctx =>
            {
                node.Register(name, ctx.Self);
                created.SetResult(Table.New<int, int>(new TableOptions { Heir = heir }));
                await TestKit.Idle(ctx);
            });
            var table = await created.Task.WaitAsync(TestKit.Patience);

            // Asks for the exit again and again while the main thread ends the process, so that some asks fall
            // between the exit's first step and its last.
            using var asking = new SemaphoreSlim(0);
            var waiter = Task.Run(() =>
            {
                asking.Release();
                while (!node.WhenExited(process).IsCompleted)
                {
                }

                return (Named: !node.WhereIs(name).IsNone, Listed: node.Processes().Contains(process), table.Owner);
            });
            await asking.WaitAsync(TestKit.Patience);
            node.Exit(process, ExitReason.Kill);

            var seen = await waiter.WaitAsync(TestKit.Patience);
            Assert.False(seen.Named, $"round {round}: the name was still taken");
            Assert.False(seen.Listed, $"round {round}: the process was still listed");
            Assert.Equal(heir, seen.Owner);
        }
    }
}
