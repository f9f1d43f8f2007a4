using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>The server loop, starting and calling.</summary>
public abstract partial class GenServer
{
    // The request whose handler is running, to name it when the handler crashes the server.
    private object? _callInFlight;

    private static Task<Pid> StartCoreAsync(Node node, ProcessContext? parent, bool link, Func<GenServer> factory, GenServerOptions? options)
    {
        ArgumentNullException.ThrowIfNull(factory);
        options ??= new GenServerOptions();
        return parent is not null && Process.CurrentProcess == parent.Process
            ? StartFromProcessAsync(parent.Process, link, factory, options)
            : StartFromOutsideAsync(node, parent, link, factory, options);
    }

    /// <summary>
    /// A start from the parent's own code, as a supervisor's: the new server acknowledges its init with a message, which
    /// the parent receives (OTP's proc_lib acknowledgement), so the parent is woken on the thread the server ran on, as
    /// for any message, with no task, timer or thread hop in between. A linked server that dies before acknowledging is
    /// seen by its exit signal when the parent traps exits (it dies with it otherwise).
    /// </summary>
    private static async Task<Pid> StartFromProcessAsync(Process parent, bool link, Func<GenServer> factory, GenServerOptions options)
    {
        var ack = new StartAck(parent.Self, parent.Node.Scheduler);
        Func<ProcessContext, Task> body = ctx => RunAsync(ctx, factory, options, ack);
        var pid = link ? parent.SpawnLink(body) : parent.Node.Spawn(body);
        ack.Server = pid;
        var answer = await parent.ReceiveAsync(StartAck.IsAnswer, ack, options.StartTimeout);
        if (answer is null && !ack.TryAbandon())
        {
            // The acknowledgement was sent as the wait ended: it decides the start.
            answer = await parent.ReceiveAsync(StartAck.IsAnswer, ack, Timeout.InfiniteTimeSpan);
        }

        switch (answer)
        {
            case StartAck acknowledged:
                return acknowledged.Result();
            case ExitSignal exit:
                throw new GenServerStartException(exit.Reason, $"The server {pid} exited before finishing InitAsync: {exit.Reason}.");
            default:
                throw TimedOut(parent.Node, parent, pid, options);
        }
    }

    private static async Task<Pid> StartFromOutsideAsync(Node node, ProcessContext? parent, bool link, Func<GenServer> factory, GenServerOptions options)
    {
        var ack = new StartAck(Pid.None, node.Scheduler);
        Func<ProcessContext, Task> body = ctx => RunAsync(ctx, factory, options, ack);
        // An unlinked server has no parent, as OTP's gen_server:start makes it its own: an exit signal from the process
        // that started it is an ordinary one, which a trapping server handles as info.
        var pid = link ? parent!.SpawnLink(body) : node.Spawn(body);
        ack.Server = pid;
        try
        {
            return await ack.Task.WaitAsync(options.StartTimeout, node.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw TimedOut(node, parent, pid, options);
        }
    }

    private static GenServerStartException TimedOut(Node node, ProcessContext? parent, Pid pid, GenServerOptions options)
    {
        parent?.Unlink(pid);
        node.Exit(pid, ExitReason.Kill);
        return new GenServerStartException(ExitReason.Custom("timeout"), $"The server {pid} did not finish InitAsync within {options.StartTimeout}; it was killed.");
    }

    private static async Task RunAsync(ProcessContext ctx, Func<GenServer> factory, GenServerOptions options, StartAck started)
    {
        GenServer server;
        InitResult init;
        try
        {
            server = factory();
            server._context = ctx;

            // Before the name is taken: registering hands this process the calls that waited for the name, and an exit
            // signal may end it at any moment after (on the sender's thread), which must hand them on again.
            ctx.Process.HandsOnMessages = (options.QueuedCallsOnCrash ?? server.DefaultQueuedCallsOnCrash) == QueuedCallsOnCrash.HandToSuccessor;
            ctx.Process.SetBehaviour(server.Behaviour);
            if (options.Name is { } name)
            {
                ctx.Node.Register(name, ctx.Self);
            }

            init = await server.InitAsync();
        }
        catch (Exception exception) when (exception is not ProcessExitException)
        {
            FailStart(ctx, started, exception is NameTakenException ? exception : new GenServerStartException(ExitReason.Error(exception), $"The server {ctx.Self} failed in InitAsync: {exception.Message}"));
            throw;
        }

        if (init.StopReason is { } stop)
        {
            FailStart(ctx, started, new GenServerStartException(stop, $"The server {ctx.Self} refused to start: {stop}."));
            throw new ProcessExitException(stop);
        }

        if (init.Kind == InitResult.IgnoreKind)
        {
            if (ctx.Parent.IsAlive)
            {
                ctx.Unlink(ctx.Parent);
            }

            started.Succeed(default);
            return;
        }

        started.Succeed(ctx.Self);
        await server.LoopAsync(ctx, init.ContinueWith);
    }

    /// <summary>A failed start unlinks from the starter first, so that the server's exit does not kill it; the
    /// starter learns the reason from the exception instead.</summary>
    private static void FailStart(ProcessContext ctx, StartAck started, Exception exception)
    {
        if (!ctx.Parent.IsNone)
        {
            ctx.Unlink(ctx.Parent);
        }

        started.Fail(exception);
    }

    private async Task LoopAsync(ProcessContext ctx, object? continueWith)
    {
        ExitReason? stop = null;
        Exception? crash = null;
        try
        {
            while (true)
            {
                while (continueWith is not null && stop is null)
                {
                    var result = await HandleContinueAsync(continueWith);
                    (stop, continueWith) = (result.StopReason, result.ContinueWith);
                }

                if (stop is not null)
                {
                    break;
                }

                var message = ReceiveFilter is { } filter ? await ctx.ReceiveAsync(filter) : await ctx.ReceiveAsync();
                (stop, continueWith, crash) = await DispatchAsync(ctx, message);
                if (crash is not null)
                {
                    break;
                }
            }
        }
        catch (ProcessExitException exit) when (ctx.Self.IsAlive)
        {
            // A callback exiting on purpose (OTP's exit(Reason)): gen_server catches it and runs terminate. A killed
            // server is dead already, and OTP runs nothing for it.
            await TerminateQuietlyAsync(exit.Reason);
            throw;
        }
        catch (Exception exception) when (exception is not ProcessExitException)
        {
            crash = exception;
        }

        if (crash is not null)
        {
            await CrashAsync(ctx, crash);
            return;
        }

        // The loop ends with a crash or a stop: not a crash, so a stop.
        await TerminateAsync(stop!);
        if (!stop!.IsNormal)
        {
            throw new ProcessExitException(stop);
        }
    }

    /// <summary>
    /// A callback threw: report a poison call, run terminate, and end the process with the exception as its crash, as
    /// if the body had thrown it (the same reason and crash report), without rethrowing it through each async frame on
    /// the way out, which costs microseconds a frame.
    /// </summary>
    private async ValueTask CrashAsync(ProcessContext ctx, Exception exception)
    {
        if (_callInFlight is { } request && ctx.Process.HandsOnMessages)
        {
            ctx.Node.Report(new PoisonCallReport(Self, ctx.Process.RegisteredName, request, exception));
        }

        await TerminateQuietlyAsync(ExitReason.Error(exception));

        // The process ends here, before its body returns, as a kill would end it; the body's return then finds it
        // exited already and changes nothing.
        ctx.Process.Terminate(ExitReason.Error(exception), exception);
    }

    /// <summary>Runs the handler for one message. A handler that throws (other than an exit on purpose) comes back as
    /// the crash, caught here, in the frame that called it, so that it is thrown once, by the handler, and never
    /// rethrown.</summary>
    private async ValueTask<(ExitReason? Stop, object? ContinueWith, Exception? Crash)> DispatchAsync(ProcessContext ctx, object message)
    {
        try
        {
            switch (message)
            {
                case CallFrom call:
                    if (!call.TryStart(ctx.Process, out var callRequest))
                    {
                        // The caller gave up (or is about to, its deadline passed) before the server reached the call: it
                        // is told the call never started, so the handler must not run. (Or this server is dead, and the call
                        // went on to its successor.)
                        return (null, null, null);
                    }

                    _callInFlight = callRequest;
                    var reply = await HandleCallAsync(callRequest, call);
                    _callInFlight = null;
                    if (reply.HasReply)
                    {
                        call.Reply(reply.Value);
                    }

                    return (reply.StopReason, reply.ContinueWith, null);
                case CastRequest cast:
                    var castResult = await HandleCastAsync(cast.Message);
                    return (castResult.StopReason, castResult.ContinueWith, null);
                case StopRequest request:
                    return (request.Reason, null, null);
                case ExitSignal exit when exit.From == ctx.Parent || exit.From.IsNone:
                    // The parent (supervisor) or the node stopping a trapping server: terminate, then exit with its reason.
                    return (exit.Reason, null, null);
                default:
                    var info = await HandleInfoAsync(message);
                    return (info.StopReason, info.ContinueWith, null);
            }
        }
        catch (Exception exception) when (exception is not ProcessExitException)
        {
            return (null, null, exception);
        }
    }

    private async ValueTask TerminateQuietlyAsync(ExitReason reason)
    {
        try
        {
            await TerminateAsync(reason);
        }
        catch (Exception)
        {
            // The original crash is the reason that matters; a failing terminate must not hide it.
        }
    }

    private static readonly Func<object, object?, bool> s_isAnswer = static (message, state) => message switch
    {
        CallFrom reply => reply == state,
        Down down => down.Ref == ((CallFrom)state!).Monitor,
        CallCancelled cancelled => cancelled.From == state,
        _ => false,
    };

    private static readonly Func<object, object?, bool> s_isCancellation = static (message, state) =>
        message is CallCancelled cancelled && cancelled.From == state;

    private static readonly Func<object, object?, bool> s_isReply = static (message, state) =>
        message == state;

    // Not pooled: a caller blocking on the task (.Result, GetAwaiter().GetResult()) must block on a real task, which
    // the blocking check then fails with a clear message, and not read a pooled box before it completes. A null target
    // is a call to a name that awaits its successor: the call is handed on to it, with no server to watch yet.
    private static async ValueTask<object?> CallFromProcessAsync(Process caller, Process? target, string? name, object request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var thread = ProcessThread.Current;
        var deadline = DeadlineAfter(caller.Node.TimeProvider, timeout);
        CallFrom from;
        var delivered = true;
        if (target is null)
        {
            from = new CallFrom(caller.Self, request, deadline, name, orphaned: true);
            caller.Node.Succession.HandOn(name!, from);
        }
        else
        {
            from = new CallFrom(caller.Self, request, deadline, name) { Monitor = caller.MonitorCall(target) };

            // Not delivered: the server died since the monitor was set, and its Down is on its way.
            delivered = target.TryDeliver(from);
        }

        // Cancellation reaches the waiting caller as a message, so its receive wakes for it as for the reply.
        var cancellation = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((CallFrom)state!).Cancel(token), from)
            : default;
        object? answer;
        CallGiveUp? exitGiveUp = null;
        try
        {
            answer = target is null || (timeout != Timeout.InfiniteTimeSpan && timeout <= s_blockingCheck)
                ? await caller.ReceiveAsync(s_isAnswer, from, timeout)
                : await caller.ReceiveAsync(s_isAnswer, from, s_blockingCheck) ?? await ReceiveAfterBlockingCheckAsync(caller, target, from, thread, timeout);
            while (answer is Down down)
            {
                // The server's exit: the caller gives up, unless the call went on to the name's successor (or is going,
                // from the dead server's mailbox) or its reply no longer needs the server; then it waits for the answer
                // until its own deadline.
                exitGiveUp = from.OnFirstServerExit(target!, target!.ExitedWith ?? down.Reason);
                if (exitGiveUp is not null)
                {
                    break;
                }

                if (!delivered)
                {
                    delivered = true;
                    caller.Node.Succession.HandOn(name!, from);
                }

                answer = await caller.ReceiveAsync(s_isAnswer, from, Remaining(caller.Node.TimeProvider, deadline));
            }
        }
        finally
        {
            await cancellation.DisposeAsync();
        }

        if (cancellationToken.IsCancellationRequested && answer is not CallCancelled)
        {
            // The cancellation's message may have arrived beside the answer: it must not stay in the mailbox.
            await caller.ReceiveAsync(s_isCancellation, from, TimeSpan.Zero);
        }

        var server = target?.Self ?? Pid.None;
        if (answer is null or CallCancelled)
        {
            var gaveUp = from.TryGiveUp();
            if (gaveUp != CallGiveUp.TooLate)
            {
                caller.EndCallMonitor();
                var started = gaveUp == CallGiveUp.Started;
                throw cancellationToken.IsCancellationRequested
                    ? new CallCanceledException(server, name, started, cancellationToken)
                    : new CallTimeoutException(server, name, timeout, started);
            }

            // The server claimed the reply just as the wait ended: it is already on its way.
            answer = await caller.ReceiveAsync(s_isReply, from, Timeout.InfiniteTimeSpan);
        }

        if (answer is Down exited)
        {
            if (exitGiveUp != CallGiveUp.TooLate)
            {
                throw new CallFailedException(server, name, exited.Reason, exitGiveUp == CallGiveUp.Started);
            }

            // A killed server's code runs on until its next receive, so it may have claimed the reply after its Down
            // went out: the reply is on its way, and the call succeeded.
            answer = await caller.ReceiveAsync(s_isReply, from, Timeout.InfiniteTimeSpan);
        }

        caller.EndCallMonitor();
        return ((CallFrom)answer!).TakeReply();
    }

    /// <summary>What is left until <paramref name="deadline"/> (a timestamp of <paramref name="time"/>), as a
    /// receive's timeout; infinite for <see cref="long.MaxValue"/>.</summary>
    private static TimeSpan Remaining(TimeProvider time, long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var left = time.GetElapsedTime(time.GetTimestamp(), deadline);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    // How long a call from a process waits before checking that its thread is not blocked on it, and how long the
    // check gives a thread to return from parking.
    private static readonly TimeSpan s_blockingCheck = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Goes on waiting for a call's answer once the first <see cref="s_blockingCheck"/> has passed; null when the
    /// timeout passes first. A process whose thread blocks on its own call (<c>.Result</c>, <c>.Wait()</c>) can never
    /// receive the reply, and the server it woke waits behind that thread: such a call fails here instead of hanging
    /// until its timeout.
    /// </summary>
    private static async ValueTask<object?> ReceiveAfterBlockingCheckAsync(Process caller, Process target, CallFrom from, ProcessThread thread, TimeSpan timeout)
    {
        if (thread != ProcessThread.Current && thread.IsStillRunning(caller, grace: s_blockingCheck) && from.TryGiveUp() != CallGiveUp.TooLate)
        {
            caller.EndCallMonitor();
            throw new InvalidOperationException(
                $"Process {caller.Self} blocked its own thread waiting for its call to {target.Self} (.Result, .Wait() or " +
                "GetAwaiter().GetResult() on the call's task): a process receives its replies on that thread, so the reply " +
                "could never arrive. Await the call instead.");
        }

        // The first wait and the check took at least the check's time: what is left may run over by the check's grace.
        return await caller.ReceiveAsync(s_isAnswer, from, timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - s_blockingCheck);
    }

    /// <summary>The caller's deadline for a call with this timeout, as a timestamp of <paramref name="time"/> (the
    /// node's clock); <see cref="long.MaxValue"/> for an infinite one (or one too far to count).</summary>
    internal static long DeadlineAfter(TimeProvider time, TimeSpan timeout)
    {
        var now = time.GetTimestamp();
        var ticks = timeout.TotalSeconds * time.TimestampFrequency;
        return timeout == Timeout.InfiniteTimeSpan || ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }
}
