using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>Calls that a cancellation token stops waiting: from outside processes and from inside one.</summary>
public sealed class CancellableCallTests
{
    /// <summary>Answers "ping" at once, holds "hold" unanswered until "release" (then answers it late), and counts requests.</summary>
    private sealed class HoldingServer : GenServer
    {
        private CallFrom? _held;

        public int Requests { get; private set; }

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            Requests++;
            switch (request)
            {
                case "hold":
                    _held = from;
                    return ValueTask.FromResult(CallResult.NoReply);
                case "release":
                    _held?.Reply("late");
                    return ValueTask.FromResult(CallResult.Reply("released"));
                case "count":
                    return ValueTask.FromResult(CallResult.Reply(Requests));
                default:
                    return ValueTask.FromResult(CallResult.Reply("pong"));
            }
        }
    }

    [Fact]
    public async Task A_call_from_outside_stops_waiting_when_its_token_fires_and_the_late_reply_is_dropped()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new HoldingServer());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await GenServer.CallAsync<string>(server, "hold", Timeout.InfiniteTimeSpan, cancel.Token));
        Assert.Equal(cancel.Token, error.CancellationToken);
        Assert.Equal("released", await GenServer.CallAsync<string>(server, "release"));
        Assert.Equal("pong", await GenServer.CallAsync<string>(server, "ping"));
    }

    [Fact]
    public async Task A_call_from_a_process_stops_waiting_when_its_token_fires_and_leaves_nothing_in_its_mailbox()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new HoldingServer());
        var (cancelled, stray) = await node.Run(async ctx =>
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            var cancelled = false;
            try
            {
                await GenServer.CallAsync(server, "hold", Timeout.InfiniteTimeSpan, cancel.Token);
            }
            catch (OperationCanceledException e) when (e.CancellationToken == cancel.Token)
            {
                cancelled = true;
            }

            await GenServer.CallAsync(server, "release");
            return (cancelled, await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(50)));
        });
        Assert.True(cancelled);
        Assert.Null(stray);
    }

    [Fact]
    public async Task A_token_that_fires_after_the_reply_changes_nothing_and_leaves_no_message()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new HoldingServer());
        var (reply, stray) = await node.Run(async ctx =>
        {
            using var cancel = new CancellationTokenSource();
            var reply = await GenServer.CallAsync<string>(server, "ping", cancellationToken: cancel.Token);
            await cancel.CancelAsync();
            return (reply, await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(50)));
        });
        Assert.Equal("pong", reply);
        Assert.Null(stray);
    }

    [Fact]
    public async Task An_already_cancelled_token_sends_no_request()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new HoldingServer());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await GenServer.CallAsync(server, "ping", cancellationToken: new CancellationToken(canceled: true)));
        Assert.Equal(1, await GenServer.CallAsync<int>(server, "count"));
    }

    [Fact]
    public async Task Many_calls_cancelled_at_random_moments_never_leave_a_stray_message_or_lose_a_reply()
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new HoldingServer());
        var stray = await node.Run(async ctx =>
        {
            var random = new Random(7);
            for (var i = 0; i < 500; i++)
            {
                using var cancel = new CancellationTokenSource();
                var call = GenServer.CallAsync<string>(server, "ping", cancellationToken: cancel.Token);
                if (random.Next(2) == 0)
                {
                    await cancel.CancelAsync();
                }

                try
                {
                    Assert.Equal("pong", await call);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return await ctx.ReceiveAsync(TimeSpan.FromMilliseconds(50));
        });
        Assert.Null(stray);
    }
}
