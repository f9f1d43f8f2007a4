using Heirloom.Behaviours;
using Heirloom.Processes;

namespace Heirloom.Tests.Behaviours;

/// <summary>A process that blocks its thread on its own call gets a clear failure, not a hang until the timeout.</summary>
public sealed class BlockingCallTests
{
    // Far longer than the detection takes: a test that reaches it has hung.
    private static readonly TimeSpan LongTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Answers "ping" with "pong", holds every "hold" until "release", counts requests, and says when it holds
    /// <paramref name="expectedHolds"/> calls.
    /// </summary>
    private sealed class Server(int expectedHolds = 1) : GenServer
    {
        private readonly List<CallFrom> _held = [];
        private int _requests;

        public TaskCompletionSource AllHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            _requests++;
            switch (request)
            {
                case "hold":
                    _held.Add(from);
                    if (_held.Count == expectedHolds)
                    {
                        AllHeld.TrySetResult();
                    }

                    return ValueTask.FromResult(CallResult.NoReply);
                case "release":
                    _held.ForEach(held => held.Reply("late"));
                    var count = _held.Count;
                    _held.Clear();
                    return ValueTask.FromResult(CallResult.Reply(count));
                case "count":
                    return ValueTask.FromResult(CallResult.Reply(_requests));
                default:
                    return ValueTask.FromResult(CallResult.Reply("pong"));
            }
        }
    }

    public static TheoryData<string> Blockings => ["Result", "Wait", "GetResult"];

    [Theory]
    [MemberData(nameof(Blockings))]
    public async Task A_process_blocking_on_its_own_call_fails_at_once_saying_why_and_goes_on(string blocking)
    {
        await using var node = new Node();
        var server = await GenServer.StartAsync(node, () => new Server());
        var (error, after) = await node.Run(async ctx =>
        {
            Exception? error = null;
            try
            {
                Block(GenServer.CallAsync(server, "ping", LongTimeout), blocking);
            }
            catch (Exception e)
            {
                error = e is AggregateException aggregate ? aggregate.InnerException : e;
            }

            // Awaited, the next call works, and the blocked one's reply never turns up in its place.
            return (error, await GenServer.CallAsync<int>(server, "count"));
        }).WaitAsync(Patience);

        var blocked = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("blocked its own thread", blocked.Message);
        Assert.Contains(server.ToString(), blocked.Message);
        Assert.Contains("Await the call", blocked.Message);

        // The server, queued behind the blocked thread, reached the blocked call only after its caller gave up on it,
        // so it never handled it: "count" is the only request it served.
        Assert.Equal(1, after);
    }

    [Fact]
    public async Task A_process_awaiting_a_slow_reply_is_not_taken_for_blocked()
    {
        await using var node = new Node();
        var instance = new Server();
        var server = await GenServer.StartAsync(node, () => instance);
        var reply = node.Run(async ctx => await GenServer.CallAsync<string>(server, "hold", LongTimeout));
        await instance.AllHeld.Task.WaitAsync(Patience);

        // Well past the moment the caller checks its thread, the reply comes.
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        Assert.Equal(1, await GenServer.CallAsync<int>(server, "release"));
        Assert.Equal("late", await reply.WaitAsync(Patience));
    }

    [Fact]
    public async Task Many_processes_awaiting_slow_replies_at_once_are_never_taken_for_blocked()
    {
        const int Callers = 200;
        await using var node = new Node();
        var instance = new Server(Callers);
        var server = await GenServer.StartAsync(node, () => instance);
        var callers = Enumerable.Range(0, Callers).Select(_ => node.Run(async ctx => await GenServer.CallAsync<string>(server, "hold", LongTimeout))).ToArray();
        await instance.AllHeld.Task.WaitAsync(Patience);

        // Every caller waits past the moment it checks its thread; then all are answered.
        await Task.Delay(TimeSpan.FromMilliseconds(400));

        Assert.Equal(callers.Length, await GenServer.CallAsync<int>(server, "release"));
        Assert.All(await Task.WhenAll(callers).WaitAsync(Patience), r => Assert.Equal("late", r));
    }

    private static void Block(ValueTask<object?> call, string how)
    {
        switch (how)
        {
            case "Result":
                _ = call.AsTask().Result;
                break;
            case "Wait":
                call.AsTask().Wait();
                break;
            default:
                call.GetAwaiter().GetResult();
                break;
        }
    }
}
