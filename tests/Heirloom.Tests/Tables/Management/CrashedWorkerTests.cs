using System.Collections.Concurrent;
using System.Diagnostics;
using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;
using Xunit.Abstractions;

namespace Heirloom.Tests.Tables.Management;

/// <summary>
/// A crash fails the request that caused it, not the queue behind it: a TableWorker's queued calls by name go to its
/// successor with the table, and a reported failure means "not applied" (but for a handler that threw after writing).
/// </summary>
public sealed class CrashedWorkerTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 16;
    private const int CrashingRequests = 75;
    private static readonly TimeSpan s_crashEvery = TimeSpan.FromMilliseconds(20);

    private readonly TemporaryDirectory _temporary = new("crashed-worker");

    public void Dispose() => _temporary.Dispose();

    private enum Crash
    {
        None,
        BeforeWriting,
        AfterWriting,
    }

    private sealed record Write(long Key, Crash Crash);

    /// <summary>Writes a key and acknowledges it (when durable, for a durable table), taking about a millisecond per
    /// request, so that requests queue behind the one in hand; a crashing request throws before or after writing.</summary>
    private sealed class Worker : TableWorker<long, long>
    {
        protected override async ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            if (request is not Write write)
            {
                return await base.HandleTableCallAsync(request, from);
            }

            await Task.Delay(1);
            if (write.Crash == Crash.BeforeWriting)
            {
                throw new InvalidOperationException($"crashed before writing {write.Key}");
            }

            Table.Insert(write.Key, write.Key);
            if (write.Crash == Crash.AfterWriting)
            {
                throw new InvalidOperationException($"crashed after writing {write.Key}");
            }

            return ReplyWhenDurable(from, true);
        }
    }

    private sealed class Outcomes
    {
        public ConcurrentBag<long> Acknowledged { get; } = [];

        public ConcurrentBag<(Write Write, CallFailedException Error)> Failed { get; } = [];

        public int Crashes;

        public int Poisons;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fifty_crashes_a_second_fail_only_the_requests_that_crashed(bool durable)
    {
        var outcomes = new Outcomes();
        await using (var node = new Node())
        {
            await RunAsync(node, durable, QueuedCallsOnCrash.HandToSuccessor, outcomes);
            var table = node.Tables.WhereIs<long, long>("records")!;
            AssertNothingLostNothingFailedApplied(outcomes, table.ContainsKey);
            var ordinaryFailures = outcomes.Failed.Where(f => f.Write.Crash == Crash.None).Select(f => f.Error).ToArray();
            Assert.True(ordinaryFailures.Length == 0, $"{ordinaryFailures.Length} requests that crashed nothing failed; first: {ordinaryFailures.FirstOrDefault()}");
            Assert.True(outcomes.Failed.Count <= outcomes.Crashes, $"{outcomes.Failed.Count} failed requests for {outcomes.Crashes} crashes ({outcomes.Poisons} poison reports): " + string.Join("; ", outcomes.Failed.Where(f => !f.Error.HandlerStarted || outcomes.Failed.Count(o => o.Error.Server == f.Error.Server) > 1).Select(f => $"{f.Write} {f.Error.Message}")));
            Assert.All(outcomes.Failed, f => Assert.True(f.Error.HandlerStarted && f.Error.Reason.Exception is InvalidOperationException, $"{f.Write}: {f.Error}"));
            Assert.Equal(CrashingRequests, outcomes.Crashes);
            Assert.Equal(outcomes.Crashes, outcomes.Poisons);
        }

        if (durable)
        {
            // What was acknowledged is durable, and what was reported failed was never written, but by the handlers
            // that threw after writing.
            await using var reopened = new Node();
            var records = DurableTable.Open<long, long>(reopened, new TableOptions { Name = "records" }, Durability());
            AssertNothingLostNothingFailedApplied(outcomes, records.ContainsKey);
        }
    }

    [Fact]
    public async Task With_OTPs_plain_semantics_the_queue_behind_a_crash_fails()
    {
        // The control: the same load with queued calls failed on a crash, as a plain gen_server does. Requests do
        // queue (so the test above tests something), and a reported failure still means "not applied".
        var outcomes = new Outcomes();
        await using var node = new Node();
        await RunAsync(node, durable: false, QueuedCallsOnCrash.Fail, outcomes);
        var ordinaryFailures = outcomes.Failed.Count(f => f.Write.Crash == Crash.None);
        Assert.True(ordinaryFailures > 0, "no request queued behind a crash: the load does not make requests queue");
        Assert.All(outcomes.Failed.Where(f => f.Write.Crash == Crash.None), f => Assert.False(f.Error.HandlerStarted, f.Error.ToString()));
        AssertNothingLostNothingFailedApplied(outcomes, node.Tables.WhereIs<long, long>("records")!.ContainsKey);
    }

    /// <summary>Echoes its requests; "crash" says it began, waits for the gate, then throws.</summary>
    private sealed class Echo(Task gate, TaskCompletionSource? began = null) : GenServer
    {
        protected internal override async ValueTask<CallResult> HandleCallAsync(object request, CallFrom from)
        {
            if (request is "crash")
            {
                began?.TrySetResult();
                await gate;
                throw new InvalidOperationException("crashed");
            }

            return CallResult.Reply(request);
        }
    }

    [Fact]
    public async Task Calls_queued_for_a_crashed_server_wait_for_its_successor_until_their_deadline_calls_by_pid_do_not()
    {
        await using var node = new Node();
        var gate = new TaskCompletionSource();
        var options = new GenServerOptions { Name = "echo", QueuedCallsOnCrash = QueuedCallsOnCrash.HandToSuccessor };
        var first = await GenServer.StartAsync(node, () => new Echo(gate.Task), options);

        // Delivered in this order before the crash: an outside call is in the mailbox when CallAsync returns.
        var crashing = GenServer.CallAsync(node, "echo", "crash").AsTask();
        var queued = GenServer.CallAsync<string>(node, "echo", "queued", TimeSpan.FromSeconds(10)).AsTask();
        var byPid = GenServer.CallAsync(first, "by pid", TimeSpan.FromSeconds(10)).AsTask();
        var expiring = GenServer.CallAsync(node, "echo", "expiring", TimeSpan.FromMilliseconds(200)).AsTask();
        gate.SetResult();

        Assert.True((await Assert.ThrowsAsync<CallFailedException>(() => crashing)).HandlerStarted);
        var pidError = await Assert.ThrowsAsync<CallFailedException>(() => byPid);
        Assert.False(pidError.HandlerStarted);
        var expired = await Assert.ThrowsAsync<CallTimeoutException>(() => expiring);
        Assert.False(expired.HandlerStarted);

        // While the name awaits its successor, a call to it waits too instead of failing at once.
        var meanwhile = GenServer.CallAsync<string>(node, "echo", "meanwhile", TimeSpan.FromSeconds(10)).AsTask();
        Assert.False(queued.IsCompleted || meanwhile.IsCompleted);
        await GenServer.StartAsync(node, () => new Echo(Task.CompletedTask), options);
        Assert.Equal("queued", await queued);
        Assert.Equal("meanwhile", await meanwhile);
    }

    [Fact]
    public async Task A_server_stopped_on_purpose_has_no_successor_its_queued_calls_fail_as_not_started()
    {
        await using var node = new Node();
        var gate = new TaskCompletionSource();
        var began = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await GenServer.StartAsync(node, () => new Echo(gate.Task, began), new GenServerOptions { Name = "echo", QueuedCallsOnCrash = QueuedCallsOnCrash.HandToSuccessor });
        var busy = GenServer.CallAsync(node, "echo", "crash", TimeSpan.FromSeconds(10)).AsTask();
        await began.Task.WaitAsync(TestKit.Patience);
        var queued = GenServer.CallAsync(node, "echo", "queued", TimeSpan.FromSeconds(10)).AsTask();
        node.Exit(server, ExitReason.Shutdown);
        Assert.True((await Assert.ThrowsAsync<CallFailedException>(() => busy)).HandlerStarted);
        var error = await Assert.ThrowsAsync<CallFailedException>(() => queued);
        Assert.False(error.HandlerStarted);
        Assert.IsNotType<CallTimeoutException>(error);
        await Assert.ThrowsAsync<CallFailedException>(() => GenServer.CallAsync(node, "echo", "after", TimeSpan.FromSeconds(10)).AsTask());
    }

    [Fact]
    public async Task A_call_sent_as_its_server_crashes_is_never_left_in_the_dead_mailbox()
    {
        // Each call reaches the server's mailbox while the crash the cast before it causes is under way on another
        // thread: a call delivered after the dead server handed on its leftovers must still reach the successor.
        await using var node = new Node();
        await StartEchoSupervisorAsync(node);
        for (var i = 0; i < 20_000; i++)
        {
            GenServer.Cast(node, "echo", "crash");
            Assert.Equal(i, await GenServer.CallAsync<int>(node, "echo", i, TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public async Task Calls_by_name_during_a_crash_loop_are_served_or_fail_as_started_never_as_no_such_server()
    {
        // Six threads cast crashes and call the name, a third of the calls crashing the server themselves: the name is
        // free between every crash and restart, and a call must see it either held or awaited, never neither.
        await using var node = new Node();
        await StartEchoSupervisorAsync(node);
        var calls = new CallOutcomes();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(caller => Task.Run(() => CallThroughCrashesAsync(node, new Random(caller), 60_000, calls))));

        calls.AssertNoneLost();
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public async Task Calls_by_name_while_servers_are_killed_from_outside_are_never_lost(int round, bool callersAreProcesses)
    {
        // A killed server's loop runs on to its next receive, so it may take a call after its exit (or resume a call
        // handed on to it as it is killed): each such call must go on to the next server, or fail as started, and
        // never wait out its deadline. The callers also crash the server, as above.
        await using var node = new Node();
        await StartEchoSupervisorAsync(node);
        using var stop = new CancellationTokenSource();
        var killer = Task.Run(async () =>
        {
            var random = new Random(round);
            while (!stop.IsCancellationRequested)
            {
                if (node.WhereIs("echo") is { IsNone: false } server)
                {
                    node.Exit(server, random.Next(2) == 0 ? ExitReason.Kill : ExitReason.Custom("killed from outside"));
                }

                Thread.SpinWait(random.Next(200_000));
                await Task.Yield();
            }
        });
        var calls = new CallOutcomes();
        await Task.WhenAll(Enumerable.Range(0, 5).Select(caller =>
            RunCaller(node, callersAreProcesses, () => CallThroughCrashesAsync(node, new Random(caller + (10 * round)), 20_000, calls))));
        await stop.CancelAsync();
        await killer;

        calls.AssertNoneLost();
    }

    /// <summary>A supervisor restarting "echo" (a <see cref="CrashOnCast"/> that hands its queued calls on) without
    /// limit.</summary>
    private static Task<Pid> StartEchoSupervisorAsync(Node node) => Supervisor.StartAsync(node, new SupervisorOptions
    {
        Intensity = int.MaxValue,
        Period = TimeSpan.FromSeconds(1),
        Children = [ChildSpec.ForGenServer("echo", () => new CrashOnCast(), new GenServerOptions { Name = "echo", QueuedCallsOnCrash = QueuedCallsOnCrash.HandToSuccessor })],
    });

    /// <summary>Calls "echo" by name <paramref name="count"/> times, a quarter of the calls after casting it a crash
    /// and a third of them asking it to throw.</summary>
    private static async Task CallThroughCrashesAsync(Node node, Random random, int count, CallOutcomes outcomes)
    {
        for (var i = 0; i < count; i++)
        {
            if (random.Next(4) == 0)
            {
                GenServer.Cast(node, "echo", "crash");
            }

            try
            {
                await GenServer.CallAsync(node, "echo", random.Next(3) == 0 ? "throw" : i, TimeSpan.FromSeconds(5));
                Interlocked.Increment(ref outcomes.Served);
            }
            catch (CallFailedException e) when (e is CallTimeoutException || !e.HandlerStarted)
            {
                outcomes.Lost.Enqueue(e);
            }
            catch (CallFailedException)
            {
                // Its handler threw, or its server was killed while handling it: failed as started, as it must.
            }
        }
    }

    /// <summary>Runs <paramref name="calls"/> from plain async code, or as the body of a process of its own.</summary>
    private static Task RunCaller(Node node, bool inProcess, Func<Task> calls)
    {
        if (!inProcess)
        {
            return Task.Run(calls);
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Spawn(async _ =>
        {
            try
            {
                await calls();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <summary>What the calls of <see cref="CallThroughCrashesAsync"/> came to: how many were served, and those that
    /// timed out or failed as not started, which a server that hands its calls on never lets happen.</summary>
    private sealed class CallOutcomes
    {
        public readonly ConcurrentQueue<CallFailedException> Lost = new();
        public int Served;

        public void AssertNoneLost()
        {
            Assert.True(Lost.IsEmpty, $"{Lost.Count} calls timed out or failed as not started; first: {Lost.FirstOrDefault()}");
            Assert.True(Served > 0);
        }
    }

    /// <summary>Echoes calls but "throw"; throws on every cast.</summary>
    private sealed class CrashOnCast : GenServer
    {
        protected internal override ValueTask<CallResult> HandleCallAsync(object request, CallFrom from) =>
            request is "throw" ? throw new InvalidOperationException("crash in a call") : ValueTask.FromResult(CallResult.Reply(request));

        protected internal override ValueTask<ServerResult> HandleCastAsync(object request) => throw new InvalidOperationException("crash");
    }

    private static void AssertNothingLostNothingFailedApplied(Outcomes outcomes, Func<long, bool> contains)
    {
        Assert.All(outcomes.Acknowledged, key => Assert.True(contains(key), $"acknowledged write {key} is lost"));
        Assert.All(
            outcomes.Failed.Where(f => f.Write.Crash != Crash.AfterWriting),
            f => Assert.False(contains(f.Write.Key), $"write {f.Write} was reported failed ({f.Error.Message}) but applied"));
    }

    private DurabilityOptions Durability() => new(_temporary.Path) { Fsync = FsyncPolicy.Always, WritesWaitForFsync = false };

    private async Task RunAsync(Node node, bool durable, QueuedCallsOnCrash queued, Outcomes outcomes)
    {
        node.Reported += (_, report) =>
        {
            switch (report)
            {
                case CrashReport { RegisteredName: "worker" }:
                    Interlocked.Increment(ref outcomes.Crashes);
                    break;
                case PoisonCallReport { RegisteredName: "worker" }:
                    Interlocked.Increment(ref outcomes.Poisons);
                    break;
            }
        };
        var options = new TableOptions { Access = TableAccess.Public };
        var table = (durable ? ManagedTable.Durable<long, long>("records", Durability()) : ManagedTable.For<long, long>("records")) with { FindMeName = "worker", Options = options };
        await Supervisor.StartAsync(node, new SupervisorOptions
        {
            Intensity = 1_000_000,
            Period = TimeSpan.FromSeconds(1),
            Children =
            [
                TableManager.ChildSpec(new TableManagerOptions { Tables = [table] }),
                ChildSpec.ForGenServer("worker", () => new Worker(), new GenServerOptions { Name = "worker", QueuedCallsOnCrash = queued }),
            ],
        });

        // The run ends when its crashing requests are sent, not at a fixed time, so that a loaded machine still sends
        // them all; the rate it reached is printed.
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            for (long i = 0; !stop.IsCancellationRequested; i++)
            {
                if (!await CallAsync(node, new Write(((long)client << 32) + i, Crash.None), outcomes))
                {
                    // A client whose request failed backs off a little, as a real one would, instead of spinning.
                    await Task.Delay(1);
                }
            }
        })).ToArray();

        // 50 crashes a second, alternating between handlers that throw before and after writing: as many crashing
        // requests as the time run so far calls for, whatever the timer's jitter.
        var started = Stopwatch.GetTimestamp();
        var crashes = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(s_crashEvery / 2);
            for (long i = 0; i < CrashingRequests && await timer.WaitForNextTickAsync();)
            {
                for (var due = Math.Min(CrashingRequests, (long)(Stopwatch.GetElapsedTime(started) / s_crashEvery)); i < due; i++)
                {
                    _ = CallAsync(node, new Write((1L << 40) + i, i % 2 == 0 ? Crash.BeforeWriting : Crash.AfterWriting), outcomes);
                }
            }

            await stop.CancelAsync();
        });

        await Task.WhenAll([.. clients, crashes]).WaitAsync(TestKit.Patience);

        // The last crashing requests are answered (failed) before the counts are read.
        await TestKit.WaitUntil(() => outcomes.Failed.Count(f => f.Write.Crash != Crash.None) + outcomes.Acknowledged.Count(k => k >= 1L << 40) >= Volatile.Read(ref _crashRequests));
        output.WriteLine($"{Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s, {outcomes.Crashes} crashes ({outcomes.Poisons} poison reports), {outcomes.Acknowledged.Count} acknowledged, {outcomes.Failed.Count} failed ({outcomes.Failed.Count(f => f.Write.Crash == Crash.None)} that crashed nothing)");
    }

    private int _crashRequests;

    private async Task<bool> CallAsync(Node node, Write write, Outcomes outcomes)
    {
        if (write.Crash != Crash.None)
        {
            Interlocked.Increment(ref _crashRequests);
        }

        try
        {
            await GenServer.CallAsync(node, "worker", write);
            outcomes.Acknowledged.Add(write.Key);
            return true;
        }
        catch (CallFailedException e)
        {
            outcomes.Failed.Add((write, e));
            return false;
        }
    }
}
