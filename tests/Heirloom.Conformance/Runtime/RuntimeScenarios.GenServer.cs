using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Conformance.Runtime;

/// <summary>The gen_server scenarios.</summary>
internal static partial class RuntimeScenarios
{
    private static Dictionary<string, Func<ProcessContext, Trace, Task>> GenServerScenarios() => new()
    {
        ["gen_server_call_replies"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"call {await GenServer.CallAsync(s, "get")}");
        },
        ["gen_server_cast_then_call_in_order"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            GenServer.Cast(s, new ScenarioServer.TraceCast("one"));
            t.Line($"call {await GenServer.CallAsync(s, "get")}");
        },
        ["gen_server_info"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            s.Send("hello");
            await GenServer.CallAsync(s, "get");
        },
        ["gen_server_continue_from_init_runs_before_the_first_message"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "continue");
            t.Line($"call {await GenServer.CallAsync(s, "get")}");
        },
        ["gen_server_continue_from_call"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"call {await GenServer.CallAsync(s, "continue")}");
            await GenServer.CallAsync(s, "get");
        },
        ["gen_server_call_timeout"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"call {await Call(s, "slow", TimeSpan.FromMilliseconds(50))}");
        },
        ["gen_server_call_to_a_dead_server"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            await GenServer.StopAsync(s);
            t.Line($"call {await Call(s, "get")}");
        },
        ["gen_server_call_to_a_server_that_crashes"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"call {await Call(s, "crash")}");
        },
        ["gen_server_stop_with_a_reply"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            var reference = ctx.Monitor(s);
            t.Line($"call {await GenServer.CallAsync(s, "stop")}");
            t.Line($"down {Trace.Reason((await DownOf(ctx, reference)).Reason)}");
        },
        ["gen_server_stop_from_a_cast_with_a_reason"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"down {await DownAfter(ctx, s, () => GenServer.Cast(s, new ScenarioServer.Stop("boom")))}");
        },
        ["gen_server_crash_in_a_callback_runs_terminate"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"down {await DownAfter(ctx, s, () => GenServer.Cast(s, new ScenarioServer.Crash()))}");
        },
        ["gen_server_exit_in_a_callback_runs_terminate"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"down {await DownAfter(ctx, s, () => GenServer.Cast(s, new ScenarioServer.Exit("boom")))}");
        },
        ["gen_server_init_ignore"] = async (ctx, t) => t.Line($"start {await TryStart(ctx, t, "ignore")}"),
        ["gen_server_init_stop"] = async (ctx, t) => t.Line($"start {await TryStart(ctx, t, "stop")}"),
        ["gen_server_init_crash"] = async (ctx, t) => t.Line($"start {await TryStart(ctx, t, "crash")}"),
        ["gen_server_stop_runs_terminate"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            await GenServer.StopAsync(s);
            t.Line("stop ok");
        },
        ["gen_server_parent_exit_runs_terminate_when_trapping"] = (ctx, t) => ParentExits(ctx, t, "trap"),
        ["gen_server_parent_exit_skips_terminate_when_not_trapping"] = (ctx, t) => ParentExits(ctx, t, "ok"),
        ["gen_server_started_unlinked_takes_its_starters_exit_as_info"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "trap");
            ctx.Exit(s, Boom);
            t.Line($"call {await GenServer.CallAsync(s, "get")}");
        },
        ["gen_server_reply_later"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            t.Line($"call {await GenServer.CallAsync(s, "later")}");
        },
        ["gen_server_cast_to_a_dead_server_is_fine"] = async (ctx, t) =>
        {
            var s = await Start(ctx, t, "ok");
            await GenServer.StopAsync(s);
            GenServer.Cast(s, new ScenarioServer.TraceCast("lost"));
            t.Line("cast ok");
        },
    };

    private static Task<Pid> Start(ProcessContext ctx, Trace t, string mode) =>
        GenServer.StartAsync(ctx.Node, () => new ScenarioServer(t.Line, mode));

    /// <summary>A start as gen_server:start answers it: the pid, ignore, or {error, Reason}.</summary>
    private static async Task<string> TryStart(ProcessContext ctx, Trace t, string mode)
    {
        try
        {
            var pid = await Start(ctx, t, mode);
            return pid.IsNone ? "ignore" : "ok";
        }
        catch (GenServerStartException e)
        {
            return e.Reason.Kind == ExitReasonKind.Custom ? $"{{error,{Trace.Reason(e.Reason)}}}" : $"{{error,\"{Trace.Reason(e.Reason)}\"}}";
        }
    }

    /// <summary>A call as the escript catches it: the reply, or {exit, Reason}.</summary>
    private static async Task<string> Call(Pid server, object request, TimeSpan? timeout = null)
    {
        try
        {
            return $"{await GenServer.CallAsync(server, request, timeout)}";
        }
        catch (CallTimeoutException)
        {
            return "{exit,timeout}";
        }
        catch (CallFailedException e)
        {
            return e.Reason.Kind is ExitReasonKind.Exception or ExitReasonKind.Custom ? $"{{exit,\"{Trace.Reason(e.Reason)}\"}}" : $"{{exit,{Trace.Reason(e.Reason)}}}";
        }
    }

    /// <summary>A server started linked by a parent process, which then exits with shutdown.</summary>
    private static async Task ParentExits(ProcessContext ctx, Trace t, string mode)
    {
        var self = ctx.Self;
        var parent = ctx.Spawn(async p =>
        {
            self.Send(("server", await GenServer.StartLinkAsync(p, () => new ScenarioServer(t.Line, mode))));
            await Idle(p);
        });
        var (_, server) = await ctx.Receive<(string, Pid)>();
        t.Line($"down {await DownAfter(ctx, server, () => ctx.Exit(parent, ExitReason.Shutdown))}");
    }
}
