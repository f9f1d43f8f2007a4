namespace Heirloom.Processes;

/// <summary>
/// Where a node queues its work: process runs, late receive continuations, completions of calls from outside any
/// process, the journal's flush loop and background snapshots. One seam per node, so that a simulated node can run all
/// of it on one thread in an order it chooses. The default is the thread pool, exactly as the kernel used it before the
/// seam existed; its methods are one virtual call in front of the pool.
/// </summary>
internal class NodeScheduler
{
    /// <summary>The thread pool.</summary>
    public static NodeScheduler ThreadPool { get; } = new(chainsRuns: true);

    /// <summary>Creates a scheduler.</summary>
    /// <param name="chainsRuns">Whether a thread that runs processes may run the processes it wakes itself, with no
    /// queue in between, and whether a caller outside any process may run its server in place. True only for the thread
    /// pool: a scheduler that chooses the order of every run (a simulation) must see each one queued.</param>
    protected NodeScheduler(bool chainsRuns) => ChainsRuns = chainsRuns;

    /// <summary>Whether runs may bypass <see cref="Queue(IThreadPoolWorkItem, bool)"/> (see the constructor). A field,
    /// read on every wake: no call on the fast path.</summary>
    public bool ChainsRuns { get; }

    /// <summary>Queues a work item, as <see cref="System.Threading.ThreadPool.UnsafeQueueUserWorkItem(IThreadPoolWorkItem, bool)"/>.</summary>
    public virtual void Queue(IThreadPoolWorkItem item, bool preferLocal) =>
        System.Threading.ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal);

    /// <summary>Queues a callback with its state, as <see cref="System.Threading.ThreadPool.UnsafeQueueUserWorkItem{TState}(Action{TState}, TState, bool)"/>.</summary>
    public virtual void Queue<TState>(Action<TState> callback, TState state, bool preferLocal) =>
        System.Threading.ThreadPool.UnsafeQueueUserWorkItem(callback, state, preferLocal);

    /// <summary>Runs blocking work off the caller's thread, as <see cref="Task.Run{TResult}(Func{TResult}, CancellationToken)"/>.</summary>
    public virtual Task<TResult> Run<TResult>(Func<TResult> work, CancellationToken cancellation) => Task.Run(work, cancellation);

    /// <summary>Runs blocking work off the caller's thread, as <see cref="Task.Run(Action)"/>.</summary>
    public virtual Task Run(Action work) => Task.Run(work);

    /// <summary>A random number in [0, 1) for the runtime's own draws (a retry's jitter): from the run's seed under a
    /// simulation, so that its timings repeat.</summary>
    public virtual double NextDouble() => Random.Shared.NextDouble();

    /// <summary>A task to complete with <see cref="Complete{TResult}"/>, whose continuations never run inside the code
    /// that completes it (an exit, a start's acknowledgement): on the pool, <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>.</summary>
    public virtual TaskCompletionSource<TResult> NewCompletion<TResult>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes a task made by <see cref="NewCompletion{TResult}"/>, unless it already is.</summary>
    public virtual void Complete<TResult>(TaskCompletionSource<TResult> completion, TResult result) => completion.TrySetResult(result);

    /// <summary>Fails a task made by <see cref="NewCompletion{TResult}"/>.</summary>
    public virtual void Fail<TResult>(TaskCompletionSource<TResult> completion, Exception exception) => completion.TrySetException(exception);
}
