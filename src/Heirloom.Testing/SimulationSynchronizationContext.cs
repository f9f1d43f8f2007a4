namespace Heirloom.Testing;

/// <summary>
/// The simulation thread's synchronization context: an await that captures it (the scenario's own awaits, a handler's
/// await without ConfigureAwait(false), Task.Yield) continues as ready work of the simulation, never on the thread
/// pool.
/// </summary>
internal sealed class SimulationSynchronizationContext(SimulationScheduler scheduler) : SynchronizationContext
{
    public override void Post(SendOrPostCallback d, object? state) => scheduler.Post(d, state);

    public override void Send(SendOrPostCallback d, object? state) => d(state);

    public override SynchronizationContext CreateCopy() => this;
}
