using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Hosting.Tests;

/// <summary>A child that traps exits (so a shutdown runs its terminate) and whose terminate never returns.</summary>
internal sealed class HangingServer : GenServer
{
    protected internal override ValueTask<InitResult> InitAsync()
    {
        Context.TrapExit = true;
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected internal override async ValueTask TerminateAsync(ExitReason reason) =>
        await new TaskCompletionSource().Task;
}
