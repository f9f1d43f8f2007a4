using Heirloom.Behaviours;

namespace Heirloom.Hosting.TestHost;

/// <summary>Fails with "the crasher failed on purpose": in its init, or on the message it sends itself from it.</summary>
internal sealed class Crasher(bool crashInInit) : GenServer
{
    public const string Failure = "the crasher failed on purpose";

    protected override ValueTask<InitResult> InitAsync()
    {
        if (crashInInit)
        {
            throw new InvalidOperationException(Failure);
        }

        Context.Self.Send("crash");
        return ValueTask.FromResult(InitResult.Ok);
    }

    protected override ValueTask<ServerResult> HandleInfoAsync(object info) => throw new InvalidOperationException(Failure);
}
