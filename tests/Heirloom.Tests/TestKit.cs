using Heirloom.Processes;

namespace Heirloom.Tests;

/// <summary>Helpers to run code inside a process and wait for outcomes with a bound (a failure guard, not a sleep).</summary>
internal static class TestKit
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Runs <paramref name="body"/> as a process and returns what it returns.</summary>
    public static Task<T> Run<T>(this Node node, Func<ProcessContext, Task<T>> body)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Spawn(async ctx =>
        {
            try
            {
                result.TrySetResult(await body(ctx));
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
        });
        return result.Task.WaitAsync(Patience);
    }

    /// <summary>A body that waits for ever, until it is killed.</summary>
    public static async Task Idle(ProcessContext ctx)
    {
        while (true)
        {
            await ctx.ReceiveAsync();
        }
    }

    /// <summary>A body that exits with the reason it is sent.</summary>
    public static async Task ExitWhenTold(ProcessContext ctx)
    {
        var reason = (ExitReason)await ctx.ReceiveAsync(m => m is ExitReason);
        throw new ProcessExitException(reason);
    }

    public static Task<ExitReason> Exited(this Node node, Pid pid) => node.WhenExited(pid).WaitAsync(Patience);

    public static async Task<T> Receive<T>(this ProcessContext ctx)
    {
        var message = await ctx.ReceiveAsync(m => m is T, Patience);
        return message is T typed ? typed : throw new TimeoutException($"No {typeof(T).Name} arrived in {Patience}.");
    }

    /// <summary>Waits for a state another thread reaches; bounded, so a bug fails the test instead of hanging it.</summary>
    public static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestKit.Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The expected state was never reached.");
            await Task.Delay(1);
        }
    }
}
