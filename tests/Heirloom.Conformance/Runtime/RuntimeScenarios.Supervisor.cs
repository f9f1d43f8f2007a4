using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Conformance.Runtime;

/// <summary>The supervisor scenarios.</summary>
internal static partial class RuntimeScenarios
{
    private static Dictionary<string, Func<ProcessContext, Trace, Task>> SupervisorScenarios() => new()
    {
        ["one_for_one_restarts_only_the_crashed_child"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a"), Worker(t, "b")] });
            var before = await Pids(sup);
            ctx.Exit(before[0], Boom);
            var after = await PidsWhenChanged(sup, before, 1);
            t.Line($"a changed {Trace.Bool(after[0] != before[0])} b changed {Trace.Bool(after[1] != before[1])}");
        },
        ["one_for_all_restarts_every_child"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Strategy = SupervisorStrategy.OneForAll, Children = [Worker(t, "a"), Worker(t, "b")] });
            var before = await Pids(sup);
            ctx.Exit(before[0], Boom);
            var after = await PidsWhenChanged(sup, before, 2);
            t.Line($"a changed {Trace.Bool(after[0] != before[0])} b changed {Trace.Bool(after[1] != before[1])}");
        },
        ["rest_for_one_restarts_the_later_children"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Strategy = SupervisorStrategy.RestForOne, Children = [Worker(t, "a"), Worker(t, "b"), Worker(t, "c")] });
            var before = await Pids(sup);
            ctx.Exit(before[1], Boom);
            var after = await PidsWhenChanged(sup, before, 2);
            t.Line($"a changed {Trace.Bool(after[0] != before[0])} b changed {Trace.Bool(after[1] != before[1])} c changed {Trace.Bool(after[2] != before[2])}");
        },
        ["simple_one_for_one_counts_one_spec"] = async (ctx, t) =>
        {
            var template = new ChildSpec("w", (sup, argument) => GenServer.StartLinkAsync(sup, () => new ScenarioServer(t.Named((string)argument!), "ok")));
            var sup = await Supervise(ctx, new SupervisorOptions { Strategy = SupervisorStrategy.SimpleOneForOne, Children = [template] });
            await Supervisor.StartChildAsync(sup, (object?)"x");
            await Supervisor.StartChildAsync(sup, (object?)"y");
            t.Line($"count {Trace.Counts(await Supervisor.CountChildrenAsync(sup))}");
        },
        ["a_temporary_child_is_not_restarted"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a") with { Restart = RestartType.Temporary }] });
            var a = (await Pids(sup))[0];
            await DownAfter(ctx, a, () => ctx.Exit(a, Boom));
            t.Line($"count {Trace.Counts(await CountsWhen(sup, c => c.Specs == 0))}");
        },
        ["a_transient_child_is_restarted_only_after_a_crash"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a") with { Restart = RestartType.Transient }, Worker(t, "b") with { Restart = RestartType.Transient }] });
            var before = await Pids(sup);
            await GenServer.StopAsync(before[0]);
            ctx.Exit(before[1], Boom);
            await PidsWhenChanged(sup, before, 1);
            t.Line($"children [{string.Join(',', (await Pids(sup)).Select(p => Trace.Bool(!p.IsNone)))}]");
        },
        ["a_permanent_child_is_restarted_after_a_normal_exit"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            var before = await Pids(sup);
            await GenServer.StopAsync(before[0]);
            var after = await PidsWhenChanged(sup, before, 1);
            t.Line($"restarted {Trace.Bool(after[0] != before[0])}");
        },
        ["too_many_restarts_stop_the_supervisor"] = async (ctx, t) =>
        {
            ctx.TrapExit = true;
            var sup = await Supervise(ctx, new SupervisorOptions { Intensity = 1, Period = TimeSpan.FromSeconds(5), Children = [Worker(t, "a")] });
            var before = await Pids(sup);
            ctx.Exit(before[0], Boom);
            var after = await PidsWhenChanged(sup, before, 1);
            ctx.Exit(after[0], Boom);
            t.Line($"supervisor exit {Trace.Reason((await ctx.Receive<ExitSignal>()).Reason)}");
        },
        ["children_stop_in_reverse_order"] = (ctx, t) =>
            StopSupervisor(ctx, t, new SupervisorOptions { Children = [Trapping(t, "a"), Trapping(t, "b"), Trapping(t, "c")] }),
        ["brutal_kill_skips_terminate"] = (ctx, t) =>
            StopSupervisor(ctx, t, new SupervisorOptions { Children = [Trapping(t, "a") with { Shutdown = ChildShutdown.BrutalKill }] }),
        ["a_shutdown_timeout_kills_a_slow_child"] = (ctx, t) =>
            StopSupervisor(ctx, t, new SupervisorOptions
            {
                Children = [ChildSpec.ForGenServer("a", () => new ScenarioServer(t.Named("a"), "slow_terminate")) with { Shutdown = ChildShutdown.After(TimeSpan.FromMilliseconds(50)) }],
            }),
        ["terminate_and_restart_a_child"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            t.Line($"terminate {await Outcome(() => Supervisor.TerminateChildAsync(sup, "a"))}");
            t.Line($"children [{string.Join(',', (await Pids(sup)).Select(p => Trace.Bool(!p.IsNone)))}]");
            t.Line($"restart {Trace.Bool(!(await Supervisor.RestartChildAsync(sup, "a")).IsNone)}");
        },
        ["delete_a_running_child_fails"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            t.Line($"delete {await Outcome(() => Supervisor.DeleteChildAsync(sup, "a"))}");
            await Supervisor.TerminateChildAsync(sup, "a");
            t.Line($"delete {await Outcome(() => Supervisor.DeleteChildAsync(sup, "a"))}");
            t.Line($"count {Trace.Counts(await Supervisor.CountChildrenAsync(sup))}");
        },
        ["start_child_with_a_taken_id"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            t.Line($"start {await Outcome(() => Supervisor.StartChildAsync(sup, Worker(t, "a")), running: "already_started")}");
            await Supervisor.TerminateChildAsync(sup, "a");
            t.Line($"start {await Outcome(() => Supervisor.StartChildAsync(sup, Worker(t, "a")))}");
        },
        ["restart_a_running_child_fails"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            t.Line($"restart {await Outcome(() => Supervisor.RestartChildAsync(sup, "a"))}");
        },
        ["terminate_an_unknown_child_fails"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a")] });
            t.Line($"terminate {await Outcome(() => Supervisor.TerminateChildAsync(sup, "b"))}");
        },
        ["nested_supervisors_count_their_kinds"] = async (ctx, t) =>
        {
            var inner = ChildSpec.ForSupervisor("inner", new SupervisorOptions { Children = [Worker(t, "b")] });
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a"), inner] });
            t.Line($"count {Trace.Counts(await Supervisor.CountChildrenAsync(sup))}");
        },
        ["which_children_lists_ids_and_kinds"] = async (ctx, t) =>
        {
            var sup = await Supervise(ctx, new SupervisorOptions { Children = [Worker(t, "a"), Worker(t, "b")] });
            var children = (await Supervisor.WhichChildrenAsync(sup)).OrderBy(c => c.Id, StringComparer.Ordinal);
            t.Line($"children [{string.Join(',', children.Select(c => $"{{{c.Id},{c.Type.ToString().ToLowerInvariant()}}}"))}]");
        },
    };

    private static ChildSpec Worker(Trace t, string id) => ChildSpec.ForGenServer(id, () => new ScenarioServer(t.Named(id), "ok"));

    private static ChildSpec Trapping(Trace t, string id) => ChildSpec.ForGenServer(id, () => new ScenarioServer(t.Named(id), "trap"));

    private static Task<Pid> Supervise(ProcessContext ctx, SupervisorOptions options) => Supervisor.StartLinkAsync(ctx, options);

    /// <summary>Stops a supervisor as the escript does, by an exit signal from its parent.</summary>
    private static async Task StopSupervisor(ProcessContext ctx, Trace t, SupervisorOptions options)
    {
        ctx.TrapExit = true;
        var sup = await Supervise(ctx, options);
        ctx.Exit(sup, ExitReason.Shutdown);
        t.Line($"supervisor exit {Trace.Reason((await ctx.Receive<ExitSignal>()).Reason)}");
    }

    private static async Task<Pid[]> Pids(Pid sup) => [.. (await Supervisor.WhichChildrenAsync(sup)).Select(c => c.Pid)];

    /// <summary>The children's pids once at least <paramref name="changed"/> of them are new live pids.</summary>
    private static async Task<Pid[]> PidsWhenChanged(Pid sup, Pid[] before, int changed)
    {
        while (true)
        {
            var now = await Pids(sup);
            if (now.Zip(before).Count(p => p.First != p.Second && !p.First.IsNone) >= changed)
            {
                return now;
            }

            await Task.Delay(1);
        }
    }

    private static async Task<ChildCounts> CountsWhen(Pid sup, Func<ChildCounts, bool> condition)
    {
        while (true)
        {
            var counts = await Supervisor.CountChildrenAsync(sup);
            if (condition(counts))
            {
                return counts;
            }

            await Task.Delay(1);
        }
    }

    /// <summary>A supervisor request's answer as OTP's: ok, or {error, Reason}.</summary>
    private static async Task<string> Outcome(Func<Task> request, string running = "{error,running}")
    {
        try
        {
            await request();
            return "ok";
        }
        catch (SupervisorException e)
        {
            return e.Error switch
            {
                SupervisorError.Running => running,
                SupervisorError.NotFound => "{error,not_found}",
                SupervisorError.AlreadyPresent => "{error,already_present}",
                _ => $"{{error,{e.Error}}}",
            };
        }
    }
}
