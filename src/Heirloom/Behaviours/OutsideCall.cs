using System.Threading.Tasks.Sources;
using Heirloom.Processes;
using Debug = System.Diagnostics.Debug;
using DebuggerDisplayAttribute = System.Diagnostics.DebuggerDisplayAttribute;

namespace Heirloom.Behaviours;

/// <summary>
/// The reply slot of a call made from outside any process: the value-task source its caller awaits, pooled per thread
/// and reset per call. A call costs its <see cref="CallFrom"/> (which is also the message) and its envelope; the slot, the
/// wait for the server's exit (the call's <see cref="CallFrom"/> watches the server as an <see cref="IExitObserver"/>)
/// and the timeout (an entry in <see cref="CallDeadlines"/>, scanned by one shared timer) cost nothing more.
/// </summary>
/// <remarks>
/// Whoever wins the call's <see cref="CallFrom"/> state (the reply, or a give-up: the deadline, the token, the server's
/// exit) completes the slot, once; the losers never touch it, since they only ever act through the per-call
/// <see cref="CallFrom"/>. The slot goes back to the pool only when its caller has read the result, after its
/// completion undid everything the call set up, so a late timer, token or exit can never reach the next call.
/// </remarks>
[DebuggerDisplay("{_server} {_serverName}")]
internal sealed class OutsideCall : IValueTaskSource<object?>, IThreadPoolWorkItem
{
    private static readonly Action<object?, CancellationToken> s_cancel = static (from, token) => ((CallFrom)from!).Cancel(token);

    // One spare slot per thread: an outside caller that awaits each call before the next (a request handler, a loop)
    // reuses the slot its continuation's thread returned.
    [ThreadStatic]
    private static OutsideCall? t_spare;

    // Continuations run from Execute, on the thread pool, never on the replying server's thread.
    private ManualResetValueTaskSourceCore<object?> _core;
    private CallFrom? _from;
    private Process? _server;
    private string? _serverName;
    private TimeSpan _timeout;
    private MonitorRef _monitor;
    private CallDeadlines? _deadlines;

    // Where the caller's continuation is queued: the calling node's scheduler, set at each start (slots are reused).
    private NodeScheduler _scheduler = NodeScheduler.ThreadPool;
    private CancellationTokenRegistration _cancellation;
    private object? _result;
    private Exception? _error;

    // Two parties finish a call's setup: Start, once everything is registered, and the completion. The last to arrive
    // queues Execute, so a completion that comes while Start is still registering never undoes half a setup.
    private int _arrivals;

    /// <summary>The deadline (a timestamp of the node's <see cref="Node.TimeProvider"/>) while the call is in
    /// <see cref="CallDeadlines"/>.</summary>
    internal long Deadline;

    /// <summary>This slot's place in <see cref="CallDeadlines"/>: its shard (-1 when not listed) and its neighbours,
    /// guarded by that shard's lock.</summary>
    internal int DeadlineShard = -1;
    internal OutsideCall? DeadlineNext;
    internal OutsideCall? DeadlinePrevious;

    /// <summary>The call in progress; read by <see cref="CallDeadlines"/> only while the slot is listed.</summary>
    internal CallFrom From => _from!;

    /// <summary>Sends <paramref name="request"/> to <paramref name="server"/> and returns the wait for its reply; with no
    /// server, hands it to the next holder of <paramref name="name"/>, which is awaited.</summary>
    public static ValueTask<object?> Start(Node node, Process? server, string? name, object request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _ = Process.ToMilliseconds(timeout);
        var call = t_spare ?? new OutsideCall();
        t_spare = null;
        return call.StartCore(node, server, name, request, timeout, cancellationToken);
    }

    private ValueTask<object?> StartCore(Node node, Process? server, string? name, object request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var from = new CallFrom(this, request, GenServer.DeadlineAfter(node.TimeProvider, timeout), name, orphaned: server is null);
        (_from, _server, _serverName, _timeout, _arrivals, _scheduler) = (from, server, name, timeout, 2, node.Scheduler);
        var handOn = server is null;
        if (server is not null)
        {
            _monitor = node.NewMonitorRef();
            if (!server.AddWatcher(_monitor, from))
            {
                // A server that crashed handing its calls on passes this one to its successor; any other fails it.
                if (from.OnFirstServerExit(server, server.ExitedWith ?? ExitReason.NoProc) is not null)
                {
                    // Nothing else was registered, so nothing can reach the slot: it goes straight back to the pool.
                    Release();
                    return ValueTask.FromException<object?>(new CallFailedException(server.Self, name, ExitReason.NoProc, handlerStarted: false));
                }

                handOn = true;
            }
        }

        var version = _core.Version;
        if (from.Deadline != long.MaxValue)
        {
            Deadline = from.Deadline;
            _deadlines = CallDeadlines.Of(node);
            _deadlines.Add(this);
        }

        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(s_cancel, from);
        }

        if (handOn)
        {
            node.Succession.HandOn(name!, from);
        }
        else if (!server!.TryDeliverAndRun(from))
        {
            // The server died since the watcher was added: the call was not delivered, so no mailbox hands it on. Its
            // watcher decides as for any exit; a call it keeps waiting is handed on from here.
            switch (from.OnFirstServerExit(server, server.ExitedWith!))
            {
                case null:
                    node.Succession.HandOn(name!, from);
                    break;
                case CallGiveUp.NotStarted:
                    Fail(new CallFailedException(server.Self, name, server.ExitedWith!, handlerStarted: false));
                    break;
            }
        }

        // The last to arrive here completes the call on this thread (nobody awaits it yet), so a reply that came
        // meanwhile, as it does when the server ran here, is returned without a hop through the pool.
        if (Interlocked.Decrement(ref _arrivals) == 0)
        {
            ((IThreadPoolWorkItem)this).Execute();
        }

        return new ValueTask<object?>(this, version);
    }

    /// <summary>The server's reply, claimed through <paramref name="from"/>.</summary>
    internal void Complete(CallFrom from, object? value)
    {
        Debug.Assert(from == _from, "Only the call's own CallFrom, which won its state, completes the slot.");
        _result = value;
        Arrive();
    }

    internal void Cancel(CallFrom from, CancellationToken token)
    {
        if (from.TryGiveUp() is var gaveUp and not CallGiveUp.TooLate)
        {
            Fail(new CallCanceledException(ServerPid, _serverName, gaveUp == CallGiveUp.Started, token));
        }
    }

    internal void ServerExited(CallFrom from, Process server, ExitReason reason)
    {
        // A reply claimed before the exit (or by the server's code still running after a kill) wins over it; a call
        // handed on, or whose reply no longer needs the server, goes on waiting.
        // Only the winner touches the slot, which may serve another call by now.
        if (from.OnFirstServerExit(server, reason) is { } gaveUp and not CallGiveUp.TooLate)
        {
            Fail(new CallFailedException(server.Self, _serverName, reason, gaveUp == CallGiveUp.Started));
        }
    }

    /// <summary>The call failed from the server's side, which won its state (see <see cref="CallFrom.Fail"/>).</summary>
    internal void Failed(CallFrom from, Pid server, ExitReason reason, bool started)
    {
        Debug.Assert(from == _from, "Only the call's own CallFrom, which won its state, completes the slot.");
        Fail(new CallFailedException(server.IsNone && _server is { } first ? first.Self : server, _serverName, reason, started));
    }

    internal void DeadlinePassed(CallFrom from)
    {
        if (from.TryGiveUp() is var gaveUp and not CallGiveUp.TooLate)
        {
            Fail(new CallTimeoutException(ServerPid, _serverName, _timeout, gaveUp == CallGiveUp.Started));
        }
    }

    // The first server called; none for a call made while its name awaited a successor.
    private Pid ServerPid => _server?.Self ?? Pid.None;

    private void Fail(Exception error)
    {
        _error = error;
        Arrive();
    }

    private void Arrive()
    {
        if (Interlocked.Decrement(ref _arrivals) == 0)
        {
            _scheduler.Queue(this, preferLocal: true);
        }
    }

    /// <summary>Undoes the call's setup, then completes the wait: the caller's continuation runs here, on the node's scheduler (the pool unless simulated).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        _deadlines?.Remove(this);
        _server?.RemoveWatcher(_monitor);

        // Not Dispose, which would wait for a callback running on another thread; a late callback acts only through
        // its CallFrom, whose state is final by now.
        _cancellation.Unregister();
        if (_error is { } error)
        {
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(_result);
        }
    }

    object? IValueTaskSource<object?>.GetResult(short token)
    {
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            WaitBlocking(token);
        }

        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>A caller blocking on the call (<c>.GetAwaiter().GetResult()</c> before it completed) waits as it would
    /// on a task, instead of reading a slot not yet completed.</summary>
    private void WaitBlocking(short token)
    {
        using var done = new ManualResetEventSlim();
        _core.OnCompleted(static state => ((ManualResetEventSlim)state!).Set(), done, token, ValueTaskSourceOnCompletedFlags.None);
        done.Wait();
    }

    ValueTaskSourceStatus IValueTaskSource<object?>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<object?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Release()
    {
        _core.Reset();
        (_from, _server, _serverName, _result, _error, _cancellation, _deadlines) = (null, null, null, null, null, default, null);
        t_spare ??= this;
    }
}
