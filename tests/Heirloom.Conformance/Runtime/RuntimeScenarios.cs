using Heirloom.Processes;

namespace Heirloom.Conformance.Runtime;

/// <summary>
/// The runtime scenarios in Heirloom, each the twin of the escript's scenario of the same name
/// (runtime_scenarios.escript): same steps, same lines. Each runs in its own process on its own node.
/// </summary>
internal static partial class RuntimeScenarios
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(100);

    /// <summary>Every scenario by name.</summary>
    public static IReadOnlyDictionary<string, Func<ProcessContext, Trace, Task>> All { get; } =
        new[] { ProcessScenarios(), GenServerScenarios(), SupervisorScenarios() }.SelectMany(s => s).ToDictionary(p => p.Key, p => p.Value);

    private static Dictionary<string, Func<ProcessContext, Trace, Task>> ProcessScenarios() => new()
    {
        // --- exit signals and trapping ---
        ["exit_normal_to_non_trapping_is_ignored"] = (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            ctx.Exit(p, ExitReason.Normal);
            t.Line($"alive {Trace.Bool(p.IsAlive)}");
            return Task.CompletedTask;
        },
        ["exit_normal_to_trapping_is_a_message"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                c.TrapExit = true;
                self.Send("ready");
                var exit = await c.Receive<ExitSignal>();
                self.Send(("got", exit.From == self, Trace.Reason(exit.Reason)));
            });
            await ctx.ReceiveAsync(m => m is "ready");
            ctx.Exit(p, ExitReason.Normal);
            var (_, fromTest, reason) = await ctx.Receive<(string, bool, string)>();
            t.Line($"exit from test {Trace.Bool(fromTest)} reason {reason}");
        },
        ["exit_custom_kills_non_trapping"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            t.Line($"down {await DownAfter(ctx, p, () => ctx.Exit(p, Boom))}");
        },
        ["exit_custom_to_trapping_is_a_message"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                c.TrapExit = true;
                self.Send("ready");
                self.Send(("got", Trace.Reason((await c.Receive<ExitSignal>()).Reason)));
            });
            await ctx.ReceiveAsync(m => m is "ready");
            ctx.Exit(p, Boom);
            t.Line($"message {(await ctx.Receive<(string, string)>()).Item2}");
        },
        ["exit_kill_kills_a_trapping_process"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                c.TrapExit = true;
                self.Send("ready");
                await Idle(c);
            });
            await ctx.ReceiveAsync(m => m is "ready");
            t.Line($"down {await DownAfter(ctx, p, () => ctx.Exit(p, ExitReason.Kill))}");
        },
        ["exit_shutdown_kills_non_trapping"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            t.Line($"down {await DownAfter(ctx, p, () => ctx.Exit(p, ExitReason.Shutdown))}");
        },
        ["a_killed_link_partner_arrives_as_killed"] = async (ctx, t) =>
        {
            ctx.TrapExit = true;
            var p = ctx.SpawnLink(Idle);
            ctx.Exit(p, ExitReason.Kill);
            t.Line($"exit {Trace.Reason((await ctx.Receive<ExitSignal>()).Reason)}");
        },
        ["a_linked_crash_kills_the_partner"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(async c =>
            {
                await c.ReceiveAsync(m => m is "go");
                c.SpawnLink(async q =>
                {
                    await q.ReceiveAsync(m => m is "go");
                    throw new ProcessExitException(Boom);
                }).Send("go");
                await Idle(c);
            });
            t.Line($"down {await DownAfter(ctx, p, () => p.Send("go"))}");
        },
        ["a_linked_normal_exit_does_not_kill"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                var q = c.SpawnLink(_ => Task.CompletedTask);
                await Down(c, q);
                self.Send(("alive", true));
                await Idle(c);
            });
            t.Line($"alive after partner exit {Trace.Bool((await ctx.Receive<(string, bool)>()).Item2)}");
            ctx.Exit(p, ExitReason.Kill);
        },
        ["a_trapping_process_gets_a_linked_normal_exit"] = async (ctx, t) =>
        {
            ctx.TrapExit = true;
            ctx.SpawnLink(_ => Task.CompletedTask);
            t.Line($"exit {Trace.Reason((await ctx.Receive<ExitSignal>()).Reason)}");
        },
        ["exit_self_normal_ends_a_non_trapping_process"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                await c.ReceiveAsync(m => m is "go");
                c.Exit(c.Self, ExitReason.Normal);
                self.Send("after_exit");
                await Idle(c);
            });
            t.Line($"down {await DownAfter(ctx, p, () => p.Send("go"))}");
            t.Line($"after {await Next(ctx)}");
        },
        ["exit_self_normal_reaches_a_trapping_process_as_a_message"] = async (ctx, t) =>
        {
            ctx.TrapExit = true;
            ctx.Exit(ctx.Self, ExitReason.Normal);
            var exit = await ctx.Receive<ExitSignal>();
            t.Line($"exit from self {Trace.Bool(exit.From == ctx.Self)} reason {Trace.Reason(exit.Reason)}");
            t.Line("still running");
        },
        ["exit_self_custom_reaches_a_trapping_process_as_a_message"] = async (ctx, t) =>
        {
            ctx.TrapExit = true;
            ctx.Exit(ctx.Self, Boom);
            var exit = await ctx.Receive<ExitSignal>();
            t.Line($"exit from self {Trace.Bool(exit.From == ctx.Self)} reason {Trace.Reason(exit.Reason)}");
        },
        ["exit_self_kill_kills_even_a_trapping_process"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(async c =>
            {
                c.TrapExit = true;
                await c.ReceiveAsync(m => m is "go");
                c.Exit(c.Self, ExitReason.Kill);
                await Idle(c);
            });
            t.Line($"down {await DownAfter(ctx, p, () => p.Send("go"))}");
        },
        ["unlink_stops_the_signal"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                var q = c.SpawnLink(async q =>
                {
                    await q.ReceiveAsync(m => m is "go");
                    throw new ProcessExitException(Boom);
                });
                c.Unlink(q);
                q.Send("go");
                self.Send(("q", await Down(c, q)));
                await Idle(c);
            });
            var (_, reason) = await ctx.Receive<(string, string)>();
            t.Line($"partner {reason}, alive {Trace.Bool(p.IsAlive)}");
            ctx.Exit(p, ExitReason.Kill);
        },
        ["trapping_can_be_turned_off"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c =>
            {
                c.TrapExit = true;
                c.TrapExit = false;
                self.Send("ready");
                await Idle(c);
            });
            await ctx.ReceiveAsync(m => m is "ready");
            t.Line($"down {await DownAfter(ctx, p, () => ctx.Exit(p, Boom))}");
        },

        // --- links to dead processes ---
        ["link_to_a_dead_process_raises_noproc"] = async (ctx, t) =>
        {
            var dead = ctx.Spawn(_ => Task.CompletedTask);
            await Down(ctx, dead);
            string result;
            try
            {
                ctx.Link(dead);
                result = "linked";
            }
            catch (NoProcessException)
            {
                result = "noproc";
            }

            t.Line($"link {result}");
            t.Line("still running");
        },
        ["link_to_a_dead_process_when_trapping_is_an_exit_message"] = async (ctx, t) =>
        {
            var dead = ctx.Spawn(_ => Task.CompletedTask);
            await Down(ctx, dead);
            ctx.TrapExit = true;
            ctx.Link(dead);
            t.Line($"exit {Trace.Reason((await ctx.Receive<ExitSignal>()).Reason)}");
        },
        ["link_to_self_does_nothing"] = async (ctx, t) =>
        {
            ctx.Link(ctx.Self);
            ctx.TrapExit = true;
            t.Line($"next {await Next(ctx)}");
        },

        // --- monitors ---
        ["monitor_down_normal"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            t.Line($"down {await DownAfter(ctx, p, () => p.Send("stop"))}");
        },
        ["monitor_down_custom"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(async c =>
            {
                await c.ReceiveAsync(m => m is "go");
                throw new ProcessExitException(Boom);
            });
            t.Line($"down {await DownAfter(ctx, p, () => p.Send("go"))}");
        },
        ["monitor_a_dead_pid_gives_noproc"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(_ => Task.CompletedTask);
            await Down(ctx, p);
            t.Line($"down {await Down(ctx, p)}");
        },
        ["two_monitors_give_two_downs"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            var first = ctx.Monitor(p);
            var second = ctx.Monitor(p);
            p.Send("stop");
            t.Line($"first {Trace.Reason((await DownOf(ctx, first)).Reason)}");
            t.Line($"second {Trace.Reason((await DownOf(ctx, second)).Reason)}");
        },
        ["demonitor_before_exit_gives_no_down"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            var reference = ctx.Monitor(p);
            t.Line($"demonitor {Trace.Bool(ctx.Demonitor(reference))}");
            p.Send("stop");
            t.Line($"next {await Next(ctx)}");
        },
        ["demonitor_without_flush_keeps_a_queued_down"] = (ctx, t) => DemonitorAfterExit(ctx, t, flush: false),
        ["demonitor_with_flush_drops_a_queued_down"] = (ctx, t) => DemonitorAfterExit(ctx, t, flush: true),
        ["monitor_by_name_carries_the_name"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(async c =>
            {
                await c.ReceiveAsync(m => m is "go");
                throw new ProcessExitException(Boom);
            });
            ctx.Node.Register("watched", p);
            var reference = ctx.Monitor("watched");
            p.Send("go");
            var down = await DownOf(ctx, reference);
            t.Line($"down {down.Name} {Trace.Reason(down.Reason)}");
        },
        ["monitor_by_an_unregistered_name_gives_noproc"] = async (ctx, t) =>
        {
            var down = await DownOf(ctx, ctx.Monitor("nobody"));
            t.Line($"down {down.Name} {Trace.Reason(down.Reason)}");
        },
        ["monitor_by_name_looks_the_name_up_once"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(c => c.ReceiveAsync(m => m is "go").AsTask());
            ctx.Node.Register("watched", p);
            var reference = ctx.Monitor("watched");
            ctx.Node.Unregister("watched");
            p.Send("go");
            var down = await DownOf(ctx, reference);
            t.Line($"down {down.Name} {Trace.Reason(down.Reason)}");
        },
        ["a_monitored_crash_does_not_harm_the_watcher"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(_ => throw new ProcessExitException(Boom));
            await Down(ctx, p);
            t.Line($"alive {Trace.Bool(ctx.Self.IsAlive)}");
        },
        ["spawn_monitor_gives_a_down"] = async (ctx, t) =>
        {
            var (_, reference) = ctx.SpawnMonitor(_ => throw new ProcessExitException(Boom));
            t.Line($"down {Trace.Reason((await DownOf(ctx, reference)).Reason)}");
        },

        // --- names ---
        ["register_and_whereis"] = (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            ctx.Node.Register("someone", p);
            t.Line($"whereis {Trace.Bool(ctx.Node.WhereIs("someone") == p)}");
            p.Send("stop");
            return Task.CompletedTask;
        },
        ["register_a_taken_name_fails"] = (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            var q = ctx.Spawn(Idle);
            ctx.Node.Register("someone", p);
            t.Line($"second {Register(ctx, "someone", q)}");
            p.Send("stop");
            q.Send("stop");
            return Task.CompletedTask;
        },
        ["register_a_second_name_fails"] = (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            ctx.Node.Register("first", p);
            t.Line($"second {Register(ctx, "second", p)}");
            p.Send("stop");
            return Task.CompletedTask;
        },
        ["a_name_is_freed_at_exit"] = async (ctx, t) =>
        {
            var p = ctx.Spawn(c => c.ReceiveAsync(m => m is "go").AsTask());
            ctx.Node.Register("brief", p);
            await DownAfter(ctx, p, () => p.Send("go"));
            t.Line($"whereis {Name(ctx.Node.WhereIs("brief"))}");
        },
        ["send_to_a_name"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            var p = ctx.Spawn(async c => self.Send(("echo", await c.ReceiveAsync())));
            ctx.Node.Register("echo", p);
            ctx.Node.Send("echo", "hello");
            t.Line($"echo {(await ctx.Receive<(string, object)>()).Item2}");
        },
        ["send_to_an_unregistered_name_fails"] = (ctx, t) =>
        {
            string result;
            try
            {
                ctx.Node.Send("nobody", "hello");
                result = "sent";
            }
            catch (NoProcessException)
            {
                result = "badarg";
            }

            t.Line($"send {result}");
            return Task.CompletedTask;
        },
        ["unregister_frees_the_name"] = (ctx, t) =>
        {
            var p = ctx.Spawn(Idle);
            ctx.Node.Register("someone", p);
            ctx.Node.Unregister("someone");
            t.Line($"whereis {Name(ctx.Node.WhereIs("someone"))} alive {Trace.Bool(p.IsAlive)}");
            p.Send("stop");
            return Task.CompletedTask;
        },

        // --- message order, selective receive, timeouts ---
        ["messages_from_one_sender_keep_their_order"] = async (ctx, t) =>
        {
            for (var n = 1; n <= 5; n++)
            {
                ctx.Self.Send(n);
            }

            var got = new List<object>();
            for (var i = 0; i < 5; i++)
            {
                got.Add(await ctx.ReceiveAsync());
            }

            t.Line($"got [{string.Join(',', got)}]");
        },
        ["selective_receive_takes_the_first_match_and_keeps_the_rest_in_order"] = async (ctx, t) =>
        {
            foreach (var x in new[] { "a", "b", "c", "b" })
            {
                ctx.Self.Send(x);
            }

            t.Line($"first {await ctx.ReceiveAsync(m => m is "b")}");
            var rest = new List<object>();
            for (var i = 0; i < 3; i++)
            {
                rest.Add(await ctx.ReceiveAsync());
            }

            t.Line($"rest [{string.Join(',', rest)}]");
        },
        ["receive_timeout_zero_on_an_empty_mailbox"] = async (ctx, t) =>
            t.Line($"receive {await ctx.ReceiveAsync(TimeSpan.Zero) ?? "timeout"}"),
        ["receive_timeout_zero_takes_a_queued_message"] = async (ctx, t) =>
        {
            ctx.Self.Send("here");
            t.Line($"receive {await ctx.ReceiveAsync(TimeSpan.Zero) ?? "timeout"}");
        },
        ["receive_timeout_fires"] = async (ctx, t) =>
            t.Line($"receive {await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(30)) ?? "timeout"}"),
        ["a_selective_timeout_leaves_other_messages"] = async (ctx, t) =>
        {
            ctx.Self.Send("other");
            var wanted = await ctx.ReceiveAsync(m => m is "wanted", TimeSpan.FromMilliseconds(30)) ?? "timeout";
            t.Line($"receive {wanted} then {await ctx.ReceiveAsync(TimeSpan.Zero) ?? "none"}");
        },
        ["messages_from_two_senders_each_keep_their_order"] = async (ctx, t) =>
        {
            var self = ctx.Self;
            Func<ProcessContext, Task> sender(string tag) => async c =>
            {
                await c.ReceiveAsync(m => m is "go");
                for (var n = 1; n <= 3; n++)
                {
                    self.Send((tag, n));
                }
            };
            var a = ctx.Spawn(sender("a"));
            var b = ctx.Spawn(sender("b"));
            a.Send("go");
            b.Send("go");
            var fromA = new List<int>();
            var fromB = new List<int>();
            for (var i = 0; i < 3; i++)
            {
                fromA.Add(((ValueTuple<string, int>)await ctx.ReceiveAsync(m => m is ValueTuple<string, int> { Item1: "a" })).Item2);
            }

            for (var i = 0; i < 3; i++)
            {
                fromB.Add(((ValueTuple<string, int>)await ctx.ReceiveAsync(m => m is ValueTuple<string, int> { Item1: "b" })).Item2);
            }

            t.Line($"a [{string.Join(',', fromA)}] b [{string.Join(',', fromB)}]");
        },
    };

    private static ExitReason Boom => ExitReason.Custom("boom");

    private static Task Idle(ProcessContext ctx) => ctx.ReceiveAsync(m => m is "stop").AsTask();

    /// <summary>Monitors <paramref name="pid"/>, does <paramref name="act"/>, and waits for its exit: the reason.</summary>
    private static async Task<string> DownAfter(ProcessContext ctx, Pid pid, Action act)
    {
        var reference = ctx.Monitor(pid);
        act();
        return Trace.Reason((await DownOf(ctx, reference)).Reason);
    }

    private static Task<string> Down(ProcessContext ctx, Pid pid) => DownAfter(ctx, pid, () => { });

    private static async Task<Down> DownOf(ProcessContext ctx, MonitorRef reference) =>
        (Down)await ctx.ReceiveAsync(m => m is Down down && down.Ref == reference);

    /// <summary>The next message, or "none" after a quiet 100 ms.</summary>
    private static async Task<string> Next(ProcessContext ctx) => (await ctx.ReceiveAsync(Quiet))?.ToString() ?? "none";

    private static async Task DemonitorAfterExit(ProcessContext ctx, Trace t, bool flush)
    {
        var p = ctx.Spawn(_ => Task.CompletedTask);
        var first = ctx.Monitor(p);
        var second = ctx.Monitor(p);
        await DownOf(ctx, second);
        ctx.Demonitor(first, flush);
        var down = await ctx.ReceiveAsync(m => m is Down d && d.Ref == first, Quiet);
        t.Line(down is Down d ? $"down {Trace.Reason(d.Reason)}" : "no down");
    }

    private static string Register(ProcessContext ctx, string name, Pid pid)
    {
        try
        {
            ctx.Node.Register(name, pid);
            return "true";
        }
        catch (NameTakenException)
        {
            return "badarg";
        }
    }

    private static string Name(Pid pid) => pid.IsNone ? "undefined" : "a pid";

    private static async Task<T> Receive<T>(this ProcessContext ctx) => (T)await ctx.ReceiveAsync(m => m is T);
}
