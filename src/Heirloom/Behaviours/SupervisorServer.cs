using System.Diagnostics.CodeAnalysis;
using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>The supervisor's server: its children in start order, the restart history, and the strategies.</summary>
internal sealed class SupervisorServer(SupervisorOptions options) : GenServer
{
    private readonly List<Child> _children = [];
    private readonly Queue<long> _restarts = new();
    private ChildSpec? _template;

    private bool IsSimple => options.Strategy == SupervisorStrategy.SimpleOneForOne;

    protected internal override async ValueTask<InitResult> InitAsync()
    {
        Context.TrapExit = true;
        if (Validate(options) is { } invalid)
        {
            return InitResult.Stop(ExitReason.Error(invalid));
        }

        if (IsSimple)
        {
            _template = options.Children[0];
            return InitResult.Ok;
        }

        foreach (var spec in options.Children)
        {
            var child = new Child(spec);
            if (await TryStartAsync(child, null) is { } failure)
            {
                await StopChildrenAsync();
                return InitResult.Stop(ExitReason.Error(failure));
            }

            _children.Add(child);
        }

        return InitResult.Ok;
    }

    private protected override Type Behaviour => typeof(Supervisor);

    protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) => request switch
    {
        StartChild start => CallResult.Reply(await StartChildAsync(start.Spec)),
        StartDynamicChild start => CallResult.Reply(await StartDynamicChildAsync(start.Argument)),
        TerminateChild terminate => CallResult.Reply(await TerminateChildAsync(terminate)),
        RestartChild restart => CallResult.Reply(await RestartChildAsync(restart.Id)),
        DeleteChild delete => CallResult.Reply(DeleteChildSpec(delete.Id)),
        WhichChildren => CallResult.Reply(_children.Select(c => new ChildInfo(IsSimple ? null : c.Spec.Id, c.Pid, c.Spec.Type)).ToArray()),
        CountChildren => CallResult.Reply(Count()),
        GetStatus => CallResult.Reply(Status()),
        _ => await base.HandleCallAsync(request, from),
    };

    protected internal override async ValueTask<ServerResult> HandleInfoAsync(object message)
    {
        switch (message)
        {
            case ExitSignal exit when Find(exit.From) is { } child:
                return await OnChildExitAsync(child, await ChildExitReasonAsync(exit));
            case TryAgainRestart retry when _children.Contains(retry.Child) && retry.Child.Pid.IsNone:
                return await RestartAsync(retry.Child, retry.Reason);
            default:
                return ServerResult.Ok;
        }
    }

    protected internal override async ValueTask TerminateAsync(ExitReason reason) => await StopChildrenAsync();

    private static SupervisorException? Validate(SupervisorOptions options)
    {
        string? problem = null;
        if (options.Intensity < 0)
        {
            problem = $"Intensity must be 0 or more, not {options.Intensity}.";
        }
        else if (options.Period <= TimeSpan.Zero)
        {
            problem = $"Period must be positive, not {options.Period}.";
        }
        else if (options.Children.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            problem = $"Two children have the id '{duplicate.Key}'; ids must be unique within a supervisor.";
        }
        else if (options.Strategy == SupervisorStrategy.SimpleOneForOne && options.Children.Count != 1)
        {
            problem = $"A SimpleOneForOne supervisor needs exactly one child spec (the template), not {options.Children.Count}.";
        }

        return problem is null ? null : new SupervisorException(SupervisorError.InvalidSpec, problem);
    }

    private async Task<object> StartChildAsync(ChildSpec spec)
    {
        if (IsSimple)
        {
            return new SupervisorException(SupervisorError.WrongStrategy, "A SimpleOneForOne supervisor starts children from its template: pass an argument, not a spec.");
        }

        if (_children.Find(c => c.Spec.Id == spec.Id) is { } existing)
        {
            return existing.Pid.IsNone
                ? new SupervisorException(SupervisorError.AlreadyPresent, $"A child spec with id '{spec.Id}' is already present; restart or delete it.")
                : new SupervisorException(SupervisorError.Running, $"A child with id '{spec.Id}' is already running as {existing.Pid}.");
        }

        var child = new Child(spec);
        if (await TryStartAsync(child, null) is { } failure)
        {
            return failure;
        }

        _children.Add(child);
        return child.Pid;
    }

    private async Task<object> StartDynamicChildAsync(object? argument)
    {
        if (!IsSimple)
        {
            return new SupervisorException(SupervisorError.WrongStrategy, $"Only a SimpleOneForOne supervisor starts children from an argument; this one is {options.Strategy}.");
        }

        var child = new Child(_template!) { Argument = argument };
        if (await TryStartAsync(child, argument) is { } failure)
        {
            return failure;
        }

        if (!child.Pid.IsNone)
        {
            _children.Add(child);
        }

        return child.Pid;
    }

    private async Task<object> TerminateChildAsync(TerminateChild request)
    {
        if (IsSimple != (request.Id is null))
        {
            return new SupervisorException(SupervisorError.WrongStrategy, IsSimple
                ? "A SimpleOneForOne supervisor terminates children by pid."
                : "This supervisor terminates children by id.");
        }

        var child = request.Id is null ? Find(request.Pid) : _children.Find(c => c.Spec.Id == request.Id);
        if (child is null)
        {
            return new SupervisorException(SupervisorError.NotFound, $"No child {request.Id ?? request.Pid.ToString()} in this supervisor.");
        }

        await StopChildAsync(child);
        if (IsSimple || child.Spec.Restart == RestartType.Temporary)
        {
            _children.Remove(child);
        }

        return true;
    }

    private async Task<object> RestartChildAsync(string id)
    {
        if (!TryFindStoppedChild(id, "restart", out var child, out var error))
        {
            return error;
        }

        return await TryStartAsync(child, null) is { } failure ? failure : child.Pid;
    }

    private object DeleteChildSpec(string id)
    {
        if (!TryFindStoppedChild(id, "delete", out var child, out var error))
        {
            return error;
        }

        _children.Remove(child);
        return true;
    }

    /// <summary>The child spec a restart or delete acts on: it must exist and its child must not be running.</summary>
    private bool TryFindStoppedChild(string id, string action, [NotNullWhen(true)] out Child? child, [NotNullWhen(false)] out SupervisorException? error)
    {
        child = IsSimple ? null : _children.Find(c => c.Spec.Id == id);
        error = (IsSimple, child) switch
        {
            (true, _) => new SupervisorException(SupervisorError.WrongStrategy, $"A SimpleOneForOne supervisor has no child specs to {action}."),
            (_, null) => new SupervisorException(SupervisorError.NotFound, $"No child with id '{id}' in this supervisor."),
            (_, { Pid.IsNone: false }) => new SupervisorException(SupervisorError.Running, $"Child '{id}' is running as {child.Pid}; terminate it first."),
            _ => null,
        };
        return error is null;
    }

    /// <summary>OTP's count_children: a SimpleOneForOne supervisor has one spec, its template, whatever number of
    /// children it started from it.</summary>
    private ChildCounts Count()
    {
        var supervisors = _children.Count(c => c.Spec.Type == ChildType.Supervisor);
        var specs = IsSimple ? 1 : _children.Count;
        return new ChildCounts(specs, _children.Count(c => !c.Pid.IsNone && c.Pid.IsAlive), supervisors, _children.Count - supervisors);
    }

    private async ValueTask<ServerResult> OnChildExitAsync(Child child, ExitReason reason)
    {
        var exited = child.Pid;
        child.Pid = default;
        if (!reason.IsNormalOrShutdown)
        {
            Report(SupervisorEvent.ChildTerminated, child, exited, reason);
        }

        var restart = child.Spec.Restart switch
        {
            RestartType.Permanent => true,
            RestartType.Transient => !reason.IsNormalOrShutdown,
            _ => false,
        };
        if (!restart)
        {
            if (IsSimple || child.Spec.Restart == RestartType.Temporary)
            {
                _children.Remove(child);
            }

            return ServerResult.Ok;
        }

        return await RestartAsync(child, reason);
    }

    /// <summary>Counts a restart against the intensity, then restarts by the strategy; a failed start is retried
    /// through the mailbox, counting again, so a child that cannot start ends in the supervisor exiting.</summary>
    private async ValueTask<ServerResult> RestartAsync(Child failed, ExitReason reason)
    {
        if (!AddRestart())
        {
            Report(SupervisorEvent.MaxIntensityReached, failed, default, reason);
            return ServerResult.Stop(ExitReason.Shutdown);
        }

        var toRestart = options.Strategy switch
        {
            SupervisorStrategy.OneForAll => _children.ToList(),
            SupervisorStrategy.RestForOne => _children.Skip(_children.IndexOf(failed)).ToList(),
            _ => [failed],
        };
        for (var i = toRestart.Count - 1; i >= 0; i--)
        {
            if (toRestart[i] != failed)
            {
                await StopChildAsync(toRestart[i]);
                if (toRestart[i].Spec.Restart == RestartType.Temporary)
                {
                    _children.Remove(toRestart[i]);
                    toRestart.RemoveAt(i);
                }
            }
        }

        foreach (var child in toRestart)
        {
            if (await TryStartAsync(child, child.Argument) is not null)
            {
                Context.Self.Send(new TryAgainRestart(child, reason));
                break;
            }

            child.Restarts++;
            SupervisorMetrics.Of(Context.Node).OnRestart();
            Report(SupervisorEvent.ChildRestarted, child, child.Pid, reason);
        }

        return ServerResult.Ok;
    }

    private bool AddRestart()
    {
        // On the node's clock: a restart window is time as the node counts it, virtual in a simulation.
        var time = Context.Node.TimeProvider;
        var now = time.GetTimestamp();
        while (_restarts.Count > 0 && time.GetElapsedTime(_restarts.Peek(), now) > options.Period)
        {
            _restarts.Dequeue();
        }

        _restarts.Enqueue(now);
        return _restarts.Count <= options.Intensity;
    }

    /// <summary>Runs the child's start; on success the child is linked and running. Returns the failure, if any.</summary>
    private async Task<SupervisorException?> TryStartAsync(Child child, object? argument)
    {
        Pid pid;
        try
        {
            pid = await child.Spec.Start(Context, argument);
        }
        catch (Exception exception) when (exception is not ProcessExitException)
        {
            Report(SupervisorEvent.StartFailed, child, default, ExitReason.Error(exception));
            return new SupervisorException(SupervisorError.StartFailed, $"Child '{child.Spec.Id}' failed to start: {exception.Message}", exception);
        }

        if (!pid.IsNone)
        {
            // A start that did not link is linked here; a child already dead then arrives as Exit(noproc).
            Context.Link(pid);
        }

        child.Pid = pid;
        return null;
    }

    private async Task StopChildrenAsync()
    {
        for (var i = _children.Count - 1; i >= 0; i--)
        {
            await StopChildAsync(_children[i]);
        }
    }

    /// <summary>Stops one child as OTP does: monitor, unlink, Shutdown (or kill), wait for its Down, kill after
    /// the shutdown timeout; then drop any Exit it sent before the unlink.</summary>
    private async Task StopChildAsync(Child child)
    {
        var pid = child.Pid;
        child.Pid = default;
        if (pid.IsNone)
        {
            return;
        }

        var ctx = Context;
        var monitor = ctx.Monitor(pid);
        ctx.Unlink(pid);
        var shutdown = child.Spec.EffectiveShutdown;
        ctx.Exit(pid, shutdown.IsBrutalKill ? ExitReason.Kill : ExitReason.Shutdown);
        bool IsDown(object m) => m is Down d && d.Ref == monitor;
        var down = await ctx.ReceiveAsync(IsDown, shutdown.Timeout ?? Timeout.InfiniteTimeSpan);
        if (down is null)
        {
            ctx.Exit(pid, ExitReason.Kill);
            await ctx.ReceiveAsync(IsDown);
        }

        await ctx.ReceiveAsync(m => m is ExitSignal e && e.From == pid, TimeSpan.Zero);
    }

    /// <summary>
    /// The reason the child really exited with. A child that died while its start returned arrives first as noproc,
    /// from the link <see cref="TryStartAsync"/> adds, ahead of the exit signal its own link carries (the link fails
    /// as soon as the child is dead, before its exit has signalled its links). Its exit is then under way or done,
    /// so waiting for it is short and bounded, and gives the reason to restart, report and count with.
    /// </summary>
    private static async ValueTask<ExitReason> ChildExitReasonAsync(ExitSignal exit) =>
        exit.Reason.Kind == ExitReasonKind.NoProc ? await exit.From.Resolve().WhenExited() : exit.Reason;

    private Child? Find(Pid pid) => pid.IsNone ? null : _children.Find(c => c.Pid == pid);

    private void Report(SupervisorEvent what, Child? child, Pid pid, ExitReason reason) =>
        Context.Node.Report(new SupervisorReport(Context.Self, what, IsSimple ? null : child?.Spec.Id, pid, reason)
        {
            Intensity = options.Intensity,
            Period = options.Period,
        });

    private SupervisorStatus Status()
    {
        var time = Context.Node.TimeProvider;
        var now = time.GetTimestamp();
        var recent = _restarts.Count(at => time.GetElapsedTime(at, now) <= options.Period);
        var children = _children.Select(c => new ChildStatus(IsSimple ? null : c.Spec.Id, c.Pid, c.Spec.Type, c.Restarts)).ToArray();
        return new SupervisorStatus(options.Strategy, options.Intensity, options.Period, recent, children);
    }

    private sealed class Child(ChildSpec spec)
    {
        public ChildSpec Spec { get; } = spec;

        /// <summary>How many times this child was restarted.</summary>
        public long Restarts { get; set; }

        public Pid Pid { get; set; }

        public object? Argument { get; init; }
    }

    internal sealed record StartChild(ChildSpec Spec);

    internal sealed record StartDynamicChild(object? Argument);

    internal sealed record TerminateChild(string? Id, Pid Pid);

    internal sealed record RestartChild(string Id);

    internal sealed record DeleteChild(string Id);

    internal sealed record WhichChildren
    {
        public static readonly WhichChildren Instance = new();
    }

    internal sealed record GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    internal sealed record CountChildren
    {
        public static readonly CountChildren Instance = new();
    }

    private sealed record TryAgainRestart(Child Child, ExitReason Reason);
}
