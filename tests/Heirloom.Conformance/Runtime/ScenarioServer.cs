using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Conformance.Runtime;

/// <summary>The scenarios' GenServer, the twin of the escript's gen_server callbacks: what it does comes from its start
/// mode and from each message, and it writes what it sees to the trace.</summary>
internal sealed class ScenarioServer(Action<string> trace, string mode) : GenServer
{
    public sealed record Stop(string Reason);

    public sealed record Crash;

    public sealed record Exit(string Reason);

    public sealed record TraceCast(string Text);

    private sealed record ReplyTo(CallFrom From);

    protected override ValueTask<InitResult> InitAsync()
    {
        trace($"init {mode}");
        switch (mode)
        {
            case "trap" or "slow_terminate":
                Context.TrapExit = true;
                return ValueTask.FromResult(InitResult.Ok);
            case "continue":
                return ValueTask.FromResult(InitResult.Ok.ThenContinue("from_init"));
            case "ignore":
                return ValueTask.FromResult(InitResult.Ignore);
            case "stop":
                return ValueTask.FromResult(InitResult.Stop(ExitReason.Custom("boom")));
            case "crash":
                throw new InvalidOperationException("crashed");
            default:
                return ValueTask.FromResult(InitResult.Ok);
        }
    }

    protected override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        switch (request)
        {
            case "get":
                return CallResult.Reply("got");
            case "continue":
                return CallResult.Reply("replied").ThenContinue("from_call");
            case "slow":
                await Task.Delay(300);
                return CallResult.Reply("late");
            case "crash":
                throw new InvalidOperationException("crashed");
            case "stop":
                return CallResult.Stop(ExitReason.Normal, "stopping");
            case "later":
                Context.Self.Send(new ReplyTo(from));
                return CallResult.NoReply;
            default:
                return await base.HandleCallAsync(request, from);
        }
    }

    protected override ValueTask<ServerResult> HandleCastAsync(object message)
    {
        switch (message)
        {
            case Stop stop:
                return ValueTask.FromResult(ServerResult.Stop(ExitReason.Custom(stop.Reason)));
            case Crash:
                throw new InvalidOperationException("crashed");
            case Exit exit:
                throw new ProcessExitException(ExitReason.Custom(exit.Reason));
            case TraceCast cast:
                trace($"cast {cast.Text}");
                break;
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }

    protected override ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        switch (message)
        {
            case ReplyTo replyTo:
                replyTo.From.Reply("later_reply");
                break;
            case ExitSignal exit:
                trace($"info exit {Trace.Reason(exit.Reason)}");
                break;
            default:
                trace($"info {message}");
                break;
        }

        return ValueTask.FromResult(ServerResult.Ok);
    }

    protected override ValueTask<ServerResult> HandleContinueAsync(object continueWith)
    {
        trace($"continue {continueWith}");
        return ValueTask.FromResult(ServerResult.Ok);
    }

    protected override async ValueTask TerminateAsync(ExitReason reason)
    {
        trace($"terminate {Trace.Reason(reason)}");
        if (mode == "slow_terminate")
        {
            await Task.Delay(500);
            trace("terminate done");
        }
    }
}
