using Heirloom.Behaviours;

namespace Heirloom.Hosting.Tests;

/// <summary>A child that crashes on the first message it handles, which it sends itself from its init: it dies just
/// after its start returns to the supervisor, racing the supervisor's link to it.</summary>
internal sealed class CrashAfterInitServer(string message) : GenServer
{
    protected internal override ValueTask<InitResult> InitAsync()
    {
        Context.Self.Send("crash");
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected internal override ValueTask<ServerResult> HandleInfoAsync(object info) => throw new InvalidOperationException(message);
}
