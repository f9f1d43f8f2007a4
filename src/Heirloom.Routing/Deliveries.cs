namespace Heirloom.Routing;

/// <summary>
/// The routed calls of one table delivered to its worker here and not yet answered, so a planned hand-off can let
/// them finish before the table's last commits. A delivery is counted before ownership is checked: a hand-off that
/// finds none counted after it stopped counting this node the owner knows every later one will see it is not the
/// owner and not deliver.
/// </summary>
internal sealed class Deliveries
{
    private int _count;
    private volatile TaskCompletionSource? _drained;

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) == 0)
        {
            _drained?.TrySetResult();
        }
    }

    /// <summary>Completes when every delivery counted now has been answered, or after <paramref name="longest"/>.</summary>
    public async Task DrainAsync(TimeSpan longest, TimeProvider time)
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _drained = drained;
        if (Volatile.Read(ref _count) == 0)
        {
            return;
        }

        try
        {
            await drained.Task.WaitAsync(longest, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A handler that holds on: the hand-off goes on, and its caller learns the outcome is unknown.
        }
    }
}
