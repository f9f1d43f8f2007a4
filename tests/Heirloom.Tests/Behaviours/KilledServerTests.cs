using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

public sealed class KilledServerTests
{
    /// <summary>Waits inside a cast for the test to let it go, and records whether terminate ran.</summary>
    private sealed class Blocking(TaskCompletionSource entered, Task release, List<string> log) : GenServer
    {
        protected internal override async ValueTask<ServerResult> HandleCastAsync(object message)
        {
            entered.TrySetResult();
            await release;
            return ServerResult.Ok;
        }

        protected internal override ValueTask TerminateAsync(ExitReason reason)
        {
            lock (log)
            {
                log.Add($"terminate {reason}");
            }

            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task A_server_killed_inside_a_callback_runs_no_terminate_when_its_code_reaches_the_next_receive()
    {
        await using var node = new Node();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        var server = await GenServer.StartAsync(node, () => new Blocking(entered, release.Task, log));
        GenServer.Cast(server, "block");
        await entered.Task;

        node.Exit(server, ExitReason.Kill);
        Assert.Equal(ExitReason.Killed, await node.WhenExited(server));
        release.SetResult();

        // The callback returns into the loop, whose receive throws for the kill: OTP runs nothing for a killed server.
        await Task.Delay(100);
        lock (log)
        {
            Assert.Empty(log);
        }
    }
}
