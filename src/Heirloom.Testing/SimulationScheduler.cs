using Heirloom.Processes;

namespace Heirloom.Testing;

/// <summary>
/// The node's scheduler in a simulation: work is never run by a thread pool but kept in a ready list, from which the
/// simulation's loop takes one item at a time, chosen by its seeded <see cref="Random"/>. Everything runs on the loop's
/// thread, so a run is a function of its seed. Work queued from any other thread means something escaped the
/// simulation (a thread the user started, real I/O): it is still run, and the run is marked as not reproducible.
/// </summary>
internal sealed class SimulationScheduler : NodeScheduler
{
    private readonly List<WorkItem> _ready = [];
    private readonly Lock _lock = new();
    private readonly Random _random;
    private Thread? _thread;

    public SimulationScheduler(Random random)
        : base(chainsRuns: false) => _random = random;

    /// <summary>Set when work arrived from a thread other than the simulation's: the run is then not a function of
    /// its seed. The first such thread's description.</summary>
    public string? Escaped { get; private set; }

    public int ReadyCount
    {
        get
        {
            lock (_lock)
            {
                return _ready.Count;
            }
        }
    }

    /// <summary>Binds the scheduler to the thread that runs the simulation.</summary>
    public void Attach(Thread thread) => _thread = thread;

    public override void Queue(IThreadPoolWorkItem item, bool preferLocal) => Add(new WorkItem(item, null, null));

    public override void Queue<TState>(Action<TState> callback, TState state, bool preferLocal) =>
        Add(new WorkItem(null, static boxed => ((Action)boxed!)(), () => callback(state)));

    /// <summary>Queues <paramref name="work"/>; its task completes on the simulation's thread when the item runs, so the
    /// awaiting code continues there, inline.</summary>
    public override Task<TResult> Run<TResult>(Func<TResult> work, CancellationToken cancellation)
    {
        var done = new TaskCompletionSource<TResult>();
        Add(new WorkItem(null, static boxed => ((Action)boxed!)(), () =>
        {
            if (cancellation.IsCancellationRequested)
            {
                done.SetCanceled(cancellation);
                return;
            }

            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }));
        return done.Task;
    }

    public override Task Run(Action work) => Run(() =>
    {
        work();
        return true;
    }, CancellationToken.None);

    /// <summary>The runtime's random draws come from the run's seed too.</summary>
    public override double NextDouble()
    {
        lock (_lock)
        {
            return _random.NextDouble();
        }
    }

    /// <summary>A plain task: the completion below is itself queued, so its continuations run as a step of their own,
    /// on the simulation's thread (the pool's RunContinuationsAsynchronously would send them to the thread pool).</summary>
    public override TaskCompletionSource<TResult> NewCompletion<TResult>() => new();

    public override void Complete<TResult>(TaskCompletionSource<TResult> completion, TResult result) =>
        Queue(static state => state.Completion.TrySetResult(state.Result), (Completion: completion, Result: result), preferLocal: false);

    public override void Fail<TResult>(TaskCompletionSource<TResult> completion, Exception exception) =>
        Queue(static state => state.Completion.TrySetException(state.Exception), (Completion: completion, Exception: exception), preferLocal: false);

    /// <summary>Queues a callback (a timer's).</summary>
    public void Post(SendOrPostCallback callback, object? state) => Add(new WorkItem(null, static s => ((Action)s!)(), () => callback(state)));

    /// <summary>Takes the next item to run: any ready one, chosen by the run's seed.</summary>
    public bool TryTake(out WorkItem item)
    {
        lock (_lock)
        {
            if (_ready.Count == 0)
            {
                item = default;
                return false;
            }

            // Swap-remove: O(1), and the order of what is left is still a function of the run.
            var index = _random.Next(_ready.Count);
            item = _ready[index];
            _ready[index] = _ready[^1];
            _ready.RemoveAt(_ready.Count - 1);
            return true;
        }
    }

    private void Add(WorkItem item)
    {
        if (_thread is { } thread && Environment.CurrentManagedThreadId != thread.ManagedThreadId && Escaped is null)
        {
            Escaped = $"work was queued from thread {Environment.CurrentManagedThreadId} ({Thread.CurrentThread.Name ?? "unnamed"}), outside the simulation";
        }

        lock (_lock)
        {
            _ready.Add(item);
        }
    }

    /// <summary>One piece of ready work: a work item (a process run, a call's completion) or a callback with its state.</summary>
    internal readonly record struct WorkItem(IThreadPoolWorkItem? Item, Action<object?>? Callback, object? State)
    {
        public void Execute()
        {
            if (Item is { } item)
            {
                item.Execute();
            }
            else
            {
                Callback!(State);
            }
        }
    }
}
