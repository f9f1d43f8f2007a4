using Heirloom.Processes;

namespace Heirloom.Testing;

/// <summary>
/// A process of the test's: it keeps every message it receives, so that the test can send it to the code under test
/// (as a caller, a monitor, a subscriber) and expect messages within virtual time. Never killed by faults drawn from the run's seed.
/// </summary>
public sealed class Probe
{
    private readonly SimulatedNode _simulation;
    private readonly List<object> _received = [];
    private TaskCompletionSource? _arrived;

    internal Probe(SimulatedNode simulation)
    {
        _simulation = simulation;
        Pid = simulation.Node.Spawn(ReceiveAllAsync);
    }

    /// <summary>The probe's process.</summary>
    public Pid Pid { get; }

    /// <summary>The messages received and not yet taken by an expectation, oldest first.</summary>
    public IReadOnlyList<object> Received => _received;

    /// <summary>Makes the probe monitor <paramref name="pid"/>, at once: when that process exits, even right after this
    /// call, its <see cref="Down"/> message arrives at the probe, for <see cref="ExpectAsync{T}"/>; a process already
    /// gone gives a Down with reason noproc.</summary>
    /// <param name="pid">The process to watch.</param>
    /// <returns>The monitor's reference, which the <see cref="Down"/> carries.</returns>
    /// <exception cref="InvalidOperationException">The probe's process has exited (its node lost power).</exception>
    public MonitorRef Monitor(Pid pid)
    {
        // The monitor is the probe process's own, set on its behalf: on the simulation's single thread nothing else
        // runs meanwhile, so this is what the probe would do if it were asked by a message, minus the wait.
        var process = Pid.Process is { IsAlive: true } alive ? alive : throw new InvalidOperationException($"Probe {Pid} has exited; spawn a new probe on the current node.");
        return process.MonitorCore(pid);
    }

    /// <summary>Waits, in virtual time, for a message that matches, takes it and returns it.</summary>
    /// <param name="match">Which message; null for any.</param>
    /// <param name="within">How much virtual time to wait at most.</param>
    /// <exception cref="TimeoutException">No matching message came within <paramref name="within"/>; the message lists
    /// what did come.</exception>
    public async Task<object> ExpectAsync(Func<object, bool>? match, TimeSpan within)
    {
        match ??= static _ => true;
        var deadline = _simulation.Elapsed + within;
        while (true)
        {
            var index = _received.FindIndex(m => match(m));
            if (index >= 0)
            {
                var message = _received[index];
                _received.RemoveAt(index);
                return message;
            }

            var left = deadline - _simulation.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Probe {Pid} got no matching message within {within.TotalSeconds:F3} s of virtual time; it holds: [{string.Join(", ", _received)}].");
            }

            _arrived = new TaskCompletionSource();
            await Task.WhenAny(_arrived.Task, Task.Delay(left, _simulation.Time));
        }
    }

    /// <summary>Waits, in virtual time, for a message of type <typeparamref name="T"/> that matches.</summary>
    /// <typeparam name="T">The message's type.</typeparam>
    /// <param name="within">How much virtual time to wait at most.</param>
    /// <param name="match">Which message of that type; null for any.</param>
    /// <exception cref="TimeoutException">None came in time.</exception>
    public async Task<T> ExpectAsync<T>(TimeSpan within, Func<T, bool>? match = null) =>
        (T)await ExpectAsync(m => m is T typed && (match is null || match(typed)), within);

    /// <summary>Asserts that no matching message arrives for <paramref name="during"/> of virtual time.</summary>
    /// <param name="match">Which message; null for any.</param>
    /// <param name="during">How long to watch.</param>
    /// <exception cref="InvalidOperationException">One came; the message names it.</exception>
    public async Task ExpectNoneAsync(Func<object, bool>? match, TimeSpan during)
    {
        await Task.Delay(during, _simulation.Time);
        if (_received.FirstOrDefault(m => match is null || match(m)) is { } unexpected)
        {
            throw new InvalidOperationException($"Probe {Pid} received {unexpected} within {during.TotalSeconds:F3} s, expecting none.");
        }
    }

    private async Task ReceiveAllAsync(ProcessContext context)
    {
        while (true)
        {
            var message = await context.ReceiveAsync();
            _received.Add(message);
            _simulation.Trace($"probe {SimulatedNode.TraceName(Pid)} got {message.GetType().Name}");
            _arrived?.TrySetResult();
        }
    }
}
