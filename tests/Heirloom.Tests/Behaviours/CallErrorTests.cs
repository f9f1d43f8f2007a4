using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>One error model for calls: timeouts, dead or missing servers and crashes are all
/// <see cref="CallFailedException"/>s that name the server and say whether its handler had begun.</summary>
public sealed class CallErrorTests
{
    /// <summary>Holds "hold" until released, crashes on "crash", answers anything else.</summary>
    private sealed class Server(TaskCompletionSource? entered = null, Task? release = null) : GenServer
    {
        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            switch (request)
            {
                case "hold":
                    entered?.TrySetResult();
                    await release!;
                    return CallResult.Reply("held");
                case "crash":
                    entered?.TrySetResult();
                    await release!;
                    throw new InvalidOperationException("crash in call");
                default:
                    return CallResult.Reply("pong");
            }
        }
    }

    [Fact]
    public async Task A_timed_out_call_by_name_is_a_CallFailedException_naming_the_server_and_the_timeout_for_people()
    {
        await using var node = new Node();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Server(entered, release.Task), new GenServerOptions { Name = "carts" });
        var held = GenServer.CallAsync(server, "hold", Timeout.InfiniteTimeSpan).AsTask();
        await entered.Task.WaitAsync(TestKit.Patience);

        foreach (var caller in new[] { "outside", "inside" })
        {
            var error = caller == "outside"
                ? await Assert.ThrowsAsync<CallTimeoutException>(async () => await GenServer.CallAsync(node, "carts", "ping", TimeSpan.FromMilliseconds(50)))
                : await node.Run(_ => Assert.ThrowsAsync<CallTimeoutException>(async () => await GenServer.CallAsync(node, "carts", "ping", TimeSpan.FromMilliseconds(50))));
            Assert.IsAssignableFrom<CallFailedException>(error);
            Assert.Contains($"'carts' ({server})", error.Message);
            Assert.Contains("within 50 ms", error.Message);
            Assert.DoesNotContain("00:00", error.Message);
            Assert.Equal(("carts", server, false), (error.ServerName, error.Server, error.HandlerStarted));
        }

        release.SetResult();
        Assert.Equal("held", await held.WaitAsync(TestKit.Patience));
    }

    [Fact]
    public async Task A_crash_during_the_call_says_the_handler_had_begun_and_a_call_queued_behind_it_says_it_had_not()
    {
        await using var node = new Node();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Server(entered, release.Task), new GenServerOptions { Name = "carts" });

        var crashing = GenServer.CallAsync(node, "carts", "crash", Timeout.InfiniteTimeSpan).AsTask();
        await entered.Task.WaitAsync(TestKit.Patience);
        var queued = GenServer.CallAsync(node, "carts", "ping", Timeout.InfiniteTimeSpan).AsTask();
        release.SetResult();

        var crashed = await Assert.ThrowsAsync<CallFailedException>(() => crashing.WaitAsync(TestKit.Patience));
        Assert.True(crashed.HandlerStarted);
        Assert.Contains($"'carts' ({server})", crashed.Message);
        Assert.Contains("crash in call", crashed.Message);
        var behind = await Assert.ThrowsAsync<CallFailedException>(() => queued.WaitAsync(TestKit.Patience));
        Assert.False(behind.HandlerStarted);
        Assert.Contains("before it started handling the request", behind.Message);
    }

    [Fact]
    public async Task A_call_to_a_dead_server_by_pid_or_name_was_not_handled()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        await GenServer.StopAsync(server);
        var dead = await Assert.ThrowsAsync<CallFailedException>(async () => await GenServer.CallAsync(server, "ping"));
        var missing = await Assert.ThrowsAsync<CallFailedException>(async () => await GenServer.CallAsync(node, "nobody", "ping"));
        Assert.All([dead, missing], e => Assert.False(e.HandlerStarted));
        Assert.Contains(server.ToString(), dead.Message);
        Assert.Contains("'nobody'", missing.Message);
    }

    [Theory]
    [InlineData(500, "500 ms")]
    [InlineData(5_000, "5 s")]
    [InlineData(1_500, "1.5 s")]
    [InlineData(90_000, "1.5 min")]
    [InlineData(0.25, "250 µs")]
    public void Durations_are_formatted_for_people(double milliseconds, string expected) =>
        Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
