using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Heirloom.Processes;

/// <summary>
/// The receive's value-task source: the protocol of <see cref="ManualResetValueTaskSourceCore{TResult}"/> in fewer
/// fields (the result slot also holds the failure and the message a yield kept back, and a captured context lives in
/// a wrapper made only when there is one), and aware of the body, so that a body parked in its own receive needs no
/// completion callback (see <see cref="AfterBodyRan"/>).
/// </summary>
internal sealed partial class Process
{
    // Stands in for the continuation once the receive has completed, so a late OnCompleted knows to run it at once.
    private static readonly Action<object?> s_receiveCompleted = static _ => Debug.Fail("The completion marker is never invoked.");

    private Action<object?>? _continuation;
    private object? _continuationState;

    // The message, or the ProcessExitException when the receive failed, or the message a yield kept back.
    private object? _result;
    private short _version;
    private bool _completed;
    private bool _failed;
    private bool _yielding;

    private short ReceiveVersion => _version;

    private void ResetReceive()
    {
        _version++;
        _completed = _failed = _yielding = false;
        _result = null;
        _continuation = null;
        _continuationState = null;
    }

    private void SetReceiveResult(object? message)
    {
        _result = message;
        SignalReceiveCompleted();
    }

    private void SetReceiveFailed(ProcessExitException exception)
    {
        _result = exception;
        _failed = true;
        SignalReceiveCompleted();
    }

    // Continuations run inline: the body resumes on this work item, so a batch of messages costs no extra hops.
    private void SignalReceiveCompleted()
    {
        _completed = true;
        if (Volatile.Read(ref _continuation) is { } continuation
            || (continuation = Interlocked.CompareExchange(ref _continuation, s_receiveCompleted, null)) is not null)
        {
            // Cleared before the body resumes, so a check after a run never takes a resumed body for a parked one;
            // AfterBodyRan fences before it looks for a body not yet published by its first run.
            var state = _continuationState;
            _continuationState = null;
            continuation(state);
        }
    }

    object? IValueTaskSource<object?>.GetResult(short token)
    {
        ValidateReceiveToken(token);
        if (!_completed)
        {
            throw new InvalidOperationException($"Process {Self}'s receive has not completed; await the ValueTask instead of reading its result.");
        }

        if (_failed)
        {
            ExceptionDispatchInfo.Throw((Exception)_result!);
        }

        return _result;
    }

    ValueTaskSourceStatus IValueTaskSource<object?>.GetStatus(short token)
    {
        ValidateReceiveToken(token);
        return Volatile.Read(ref _continuation) is null || !_completed ? ValueTaskSourceStatus.Pending
            : _failed ? ValueTaskSourceStatus.Faulted
            : ValueTaskSourceStatus.Succeeded;
    }

    void IValueTaskSource<object?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        ValidateReceiveToken(token);
        if (CapturedContinuation.Capture(continuation, state, flags) is { } captured)
        {
            (continuation, state) = (CapturedContinuation.Invoke, captured);
        }

        _continuationState = state;
        if (Interlocked.CompareExchange(ref _continuation, continuation, null) is null)
        {
            return;
        }

        // The receive completed between the awaiter's check and now. The continuation runs on the node's scheduler, as
        // ManualResetValueTaskSourceCore does (running it here would re-enter the awaiting method), and the body is
        // checked after it as after any run.
        _continuation = continuation;
        Node.Scheduler.Queue(static process => process.RunLateContinuation(), this, preferLocal: true);
    }

    private void RunLateContinuation()
    {
        var continuation = _continuation!;
        continuation(Interlocked.Exchange(ref _continuationState, null));
        AfterBodyRan();
    }

    private void ValidateReceiveToken(short token)
    {
        if (token != _version)
        {
            throw new InvalidOperationException($"A ValueTask from process {Self}'s ReceiveAsync was awaited twice or after the next receive; await each receive once.");
        }
    }

    /// <summary>A continuation with the execution or scheduling context it must run in; made only when the awaiter
    /// asks for one and one is there, which a process's own await never does.</summary>
    private sealed class CapturedContinuation(Action<object?> continuation, object? state, ExecutionContext? executionContext, object? schedulingContext)
    {
        public static readonly Action<object?> Invoke = static captured => ((CapturedContinuation)captured!).Run();

        public static CapturedContinuation? Capture(Action<object?> continuation, object? state, ValueTaskSourceOnCompletedFlags flags)
        {
            var executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
            object? schedulingContext = null;
            if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0)
            {
                if (SynchronizationContext.Current is { } context && context.GetType() != typeof(SynchronizationContext))
                {
                    schedulingContext = context;
                }
                else if (TaskScheduler.Current is { } scheduler && scheduler != TaskScheduler.Default)
                {
                    schedulingContext = scheduler;
                }
            }

            return executionContext is null && schedulingContext is null
                ? null
                : new CapturedContinuation(continuation, state, executionContext, schedulingContext);
        }

        private void Run()
        {
            switch (schedulingContext)
            {
                case SynchronizationContext context:
                    context.Post(static captured => ((CapturedContinuation)captured!).RunInExecutionContext(), this);
                    break;
                case TaskScheduler scheduler:
                    Task.Factory.StartNew(static captured => ((CapturedContinuation)captured!).RunInExecutionContext(), this, CancellationToken.None, TaskCreationOptions.DenyChildAttach, scheduler);
                    break;
                default:
                    RunInExecutionContext();
                    break;
            }
        }

        private void RunInExecutionContext()
        {
            if (executionContext is null)
            {
                continuation(state);
                return;
            }

            ExecutionContext.Run(executionContext, static captured => ((CapturedContinuation)captured!).RunContinuation(), this);
        }

        private void RunContinuation() => continuation(state);
    }
}
