using Heirloom.Processes;
using Microsoft.Extensions.Logging;

namespace Heirloom.Hosting;

internal static partial class HeirloomLog
{
    [LoggerMessage(EventId = 1020, EventName = "PoisonCall", Level = LogLevel.Error, Message = "Server {Server} ({RegisteredName}) crashed handling the call {Request}; the call failed with the crash and was not handed to its successor, which serves the calls queued behind it")]
    public static partial void PoisonCall(ILogger logger, Exception exception, Pid server, string registeredName, object request);
}
