using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Hosting.Tests;

/// <summary>A child that records its start and its terminate, traps exits (so a supervisor's shutdown runs its
/// terminate), and crashes on the cast "crash".</summary>
internal sealed class RecordingServer(string id, Action<string> record) : GenServer
{
    protected internal override ValueTask<InitResult> InitAsync()
    {
        Context.TrapExit = true;
        record($"{id} started");
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected internal override ValueTask<ServerResult> HandleCastAsync(object message) =>
        message is "crash" ? throw new InvalidOperationException($"{id} was told to crash") : ValueTask.FromResult(ServerResult.Ok);

    protected internal override ValueTask TerminateAsync(ExitReason reason)
    {
        record($"{id} terminated {reason}");
        return ValueTask.CompletedTask;
    }
}
