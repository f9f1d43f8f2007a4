using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Tables.Management;

internal static class WorkerCalls
{
    /// <summary>Writes a key through the registered "worker" until it acknowledges it (replies true once the key is in
    /// the table it owns), whatever dies meanwhile.</summary>
    public static async Task WriteUntilAcknowledged(Node node, long key)
    {
        while (true)
        {
            try
            {
                if (await GenServer.CallAsync(node, "worker", key) is true)
                {
                    return;
                }
            }
            catch (CallFailedException)
            {
            }

            await Task.Yield();
        }
    }
}
