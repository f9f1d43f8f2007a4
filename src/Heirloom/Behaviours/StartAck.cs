using System.Runtime.ExceptionServices;
using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>
/// How a starting server tells its starter that its <see cref="GenServer.InitAsync"/> is done: as a message to the
/// starting process (itself the message, matched by identity), or through a task for a starter outside any process.
/// </summary>
internal sealed class StartAck
{
    private const int Pending = 0;
    private const int Sent = 1;
    private const int Abandoned = 2;

    private readonly Pid _starter;
    private readonly TaskCompletionSource<Pid>? _task;
    private readonly NodeScheduler _scheduler;
    private Pid _result;
    private ExceptionDispatchInfo? _failure;
    private int _state;

    /// <summary>An acknowledgement sent to <paramref name="starter"/>, or, for <see cref="Pid.None"/>, completing a task
    /// through <paramref name="scheduler"/> (its continuations never run inside the starting server).</summary>
    public StartAck(Pid starter, NodeScheduler scheduler)
    {
        _starter = starter;
        _scheduler = scheduler;
        if (starter.IsNone)
        {
            _task = scheduler.NewCompletion<Pid>();
        }
    }

    /// <summary>Matches, for the starter's receive, this acknowledgement or the server's exit signal.</summary>
    public static readonly Func<object, object?, bool> IsAnswer = static (message, state) =>
        message == state || (message is ExitSignal exit && exit.From == ((StartAck)state!).Server);

    /// <summary>The starting server; set by the starter right after the spawn, before it receives.</summary>
    public Pid Server { get; set; }

    /// <summary>The task a starter outside any process waits on.</summary>
    public Task<Pid> Task => _task!.Task;

    public void Succeed(Pid server)
    {
        _result = server;
        Answer();
    }

    public void Fail(Exception exception)
    {
        _failure = ExceptionDispatchInfo.Capture(exception);
        Answer();
    }

    /// <summary>The starter gave up waiting. False when the answer is already on its way: it will be in the starter's
    /// mailbox, and the start is decided by it, not by the timeout.</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Pending) == Pending;

    /// <summary>The pid the server acknowledged with, or its failure thrown.</summary>
    public Pid Result()
    {
        _failure?.Throw();
        return _result;
    }

    private void Answer()
    {
        if (_task is { } task)
        {
            if (_failure is { } failure)
            {
                _scheduler.Fail(task, failure.SourceException);
            }
            else
            {
                _scheduler.Complete(task, _result);
            }

            return;
        }

        // A starter that gave up is sent nothing, so no stray acknowledgement is left in its mailbox.
        if (Interlocked.CompareExchange(ref _state, Sent, Pending) == Pending)
        {
            _starter.Send(this);
        }
    }
}
