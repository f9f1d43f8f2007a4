using Heirloom.Behaviours;

namespace Heirloom.Tests.Simulations;

/// <summary>A counter with a read ("get"), a write (("set", n)) and an atomic increment ("add"): the sample user code for
/// the read-modify-write bug, where a client reads in one call and writes in another.</summary>
internal sealed class CounterServer : GenServer
{
    private long _value;

    protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
    {
        switch (request)
        {
            case "get":
                return ValueTask.FromResult(CallResult.Reply(_value));
            case ("set", long value):
                _value = value;
                return ValueTask.FromResult(CallResult.Reply(true));
            case "add":
                return ValueTask.FromResult(CallResult.Reply(++_value));
            default:
                return base.HandleCallAsync(request, from);
        }
    }
}
