using Heirloom.Behaviours;
using Heirloom.Management;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Tests.Persistence;

/// <summary>Replicated tables: every write reaches the replica in the table's order, a standby becomes the table
/// without copying, and a replica that cannot commit fails the table closed.</summary>
public sealed class ReplicatedTableTests
{
    [Fact]
    public async Task Writes_reach_the_replica_in_order_with_consecutive_sequences_and_a_batch_is_one_record()
    {
        await using var node = new Node();
        var replica = new RecordingReplica();
        var table = new ReplicaStandby<string, long>(TableType.Set).Promote(node, new TableOptions { Name = "t" }, replica, lastSequence: 41);

        table.Insert("a", 1);
        table.UpdateCounter("a", 5);
        table.Delete("missing");                                          // changes nothing: no record
        table.Insert([new("b", 2), new("c", 3)]);
        table.Delete("a");

        Assert.Equal([42L, 43, 44, 45], replica.Records.Select(r => r.Sequence));
        Assert.Equal(6, Codecs.For<long>().Read(replica.Records[1].Entries[0].Values[0]));
        Assert.True(replica.Records[2].IsBatch);
        Assert.Equal(2, replica.Records[2].Entries.Count);
        Assert.Empty(replica.Records[3].Entries[0].Values);                // "a" is gone
        Assert.Equal(45, ReplicatedTable.GetLastSequence(table));
    }

    [Theory]
    [InlineData(TableType.Set)]
    [InlineData(TableType.OrderedSet)]
    [InlineData(TableType.Bag)]
    public async Task Lookups_while_the_follower_applies_see_each_keys_old_or_new_state_never_the_key_missing_in_between(TableType type)
    {
        // Every state of the key is its generation n written once (a set) or as the values 1..n (a bag): a reader sees
        // a whole generation, at least the one applied before it began.
        var standby = new ReplicaStandby<long, long>(type);
        standby.Apply(new JournalEntry(Encode(1L), State(type, 1)));
        var applied = 1L;
        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested || reads == 0)
            {
                var before = Volatile.Read(ref applied);
                var values = standby.Lookup(1);
                var generation = type == TableType.Bag ? values.Count : Assert.Single(values);
                Assert.True(generation >= before, $"read generation {generation} after {before} was applied");
                Assert.Equal(State(type, generation).Select(v => Codecs.For<long>().Read(v)), values);
                reads++;
            }
        })).ToArray();

        // A bag's state grows with its generation, and each apply rewrites it: fewer generations.
        var last = type == TableType.Bag ? 300 : 200_000;
        var started = TimeProvider.System.GetTimestamp();
        for (var generation = 2L; generation <= last && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(1); generation++)
        {
            standby.Apply(new JournalEntry(Encode(1L), State(type, generation)));
            Volatile.Write(ref applied, generation);
        }

        await done.CancelAsync();
        await Task.WhenAll(readers);
    }

    private static byte[][] State(TableType type, long generation) =>
        type == TableType.Bag ? [.. Enumerable.Range(1, (int)generation).Select(v => Encode((long)v))] : [Encode(generation)];

    [Fact]
    public async Task A_promoted_standby_holds_what_was_applied_and_is_promoted_once()
    {
        await using var node = new Node();
        var standby = new ReplicaStandby<long, string>(TableType.OrderedSet);
        for (var key = 0L; key < 1000; key++)
        {
            standby.Apply(new JournalEntry(Encode(key), [Encode($"v{key}")]));
        }

        standby.Apply(new JournalEntry(Encode(7L), []));
        var table = standby.Promote(node, new TableOptions { Type = TableType.OrderedSet, Name = "t" }, new RecordingReplica(), 1000);

        Assert.Equal(999, table.Count);
        Assert.Equal("v8", table.Lookup(8)[0]);
        Assert.Empty(table.Lookup(7));
        Assert.Throws<InvalidOperationException>(() => standby.Promote(node, new TableOptions { Type = TableType.OrderedSet }, new RecordingReplica(), 0));
        Assert.Throws<InvalidOperationException>(() => standby.Apply(new JournalEntry(null, [])));
        var wrongType = Assert.Throws<ArgumentException>(() => new ReplicaStandby<long, string>(TableType.Bag).Promote(node, new TableOptions(), new RecordingReplica(), 0));
        Assert.Contains("Bag", wrongType.Message);
    }

    [Fact]
    public async Task Writes_wait_for_the_commit_when_the_replica_says_so_and_are_acknowledged_later_otherwise()
    {
        await using var node = new Node();
        var waiting = new RecordingReplica { WritesWaitForCommit = true, CommitsAtOnce = false };
        var table = new ReplicaStandby<long, long>(TableType.Set).Promote(node, new TableOptions(), waiting, 0);
        var write = Task.Run(() => table.Insert(1, 1));
        await waiting.Appended.Task;
        Assert.False(write.IsCompleted);
        waiting.CommitThrough(1);
        await write;

        var later = new RecordingReplica { CommitsAtOnce = false };
        var deferred = new ReplicaStandby<long, long>(TableType.Set).Promote(node, new TableOptions(), later, 0);
        deferred.Insert(1, 1);
        deferred.Insert(2, 2);
        var durable = DurableTable.WhenDurableAsync(deferred).AsTask();
        later.CommitThrough(1);
        Assert.False(durable.IsCompleted);
        later.CommitThrough(2);
        await durable;
    }

    [Fact]
    public async Task A_replica_that_refuses_a_write_fails_the_table_closed_before_anyone_sees_the_write_and_tells_the_heir()
    {
        await using var node = new Node();
        var heirGot = new TaskCompletionSource<TableFailed>();
        var heir = node.Spawn(async ctx => heirGot.SetResult((TableFailed)await ctx.ReceiveAsync(m => m is TableFailed)));
        var replica = new RecordingReplica { Refuse = new InvalidOperationException("fenced by epoch 8") };
        var table = new ReplicaStandby<long, long>(TableType.Set).Promote(node, new TableOptions { Name = "t", Heir = heir }, replica, 0);

        var refused = Assert.Throws<TableException>(() => table.Insert(1, 1));

        Assert.Equal(TableError.StorageFailed, refused.Error);
        Assert.Contains("fenced by epoch 8", refused.Message);
        Assert.Equal(TableError.StorageFailed, Assert.Throws<TableException>(() => table.Lookup(1)).Error);
        Assert.Null(node.Tables.WhereIs("t"));
        Assert.Same(table, (await heirGot.Task).Table);
    }

    [Fact]
    public async Task A_commit_that_fails_later_fails_the_table_and_the_writer_waiting_for_it()
    {
        await using var node = new Node();
        var replica = new RecordingReplica { CommitsAtOnce = false };
        var table = new ReplicaStandby<long, long>(TableType.Set).Promote(node, new TableOptions(), replica, 0);
        table.Insert(1, 1);
        var durable = DurableTable.WhenDurableAsync(table).AsTask();

        replica.FailCommits(new IOException("connection reset"));

        var failure = await Assert.ThrowsAsync<TableException>(() => durable);
        Assert.Equal(TableError.StorageFailed, failure.Error);
        Assert.True(table.IsDeleted);
        ReplicatedTable.Fail(table, new IOException("again"));            // a failed table stays failed, no throw
        Assert.Throws<ArgumentException>(() => ReplicatedTable.Fail(Table.New<long, long>(node, new TableOptions()), new IOException()));
    }

    [Fact]
    public async Task A_managed_worker_replies_when_the_replica_has_committed()
    {
        await using var node = new Node();
        var replica = new RecordingReplica { CommitsAtOnce = false };
        var table = new ReplicaStandby<long, long>(TableType.Set).Promote(node, new TableOptions { Name = "records" }, replica, 0);
        var manager = await TableManager.StartAsync(node, new TableManagerOptions
        {
            Tables = [ManagedTable.For<long, long>("records") with { FindMeName = "writer" }],
        });
        await GenServer.StartAsync(node, () => new ReplyingWriter(), new GenServerOptions { Name = "writer" });

        var call = GenServer.CallAsync<long>(node, "writer", 5L);
        await replica.Appended.Task;
        Assert.False(call.IsCompleted);
        replica.CommitThrough(1);
        Assert.Equal(5, await call);
        Assert.Equal(manager, table.Heir);
    }

    private static byte[] Encode<T>(T value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Codecs.For<T>().Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    private sealed class ReplyingWriter : TableWorker<long, long>
    {
        protected override ValueTask<CallResult> HandleTableCallAsync(object request, CallFrom from)
        {
            Table.Insert((long)request, (long)request);
            return ValueTask.FromResult(ReplyWhenDurable(from, request));
        }
    }

    /// <summary>A replica in memory: keeps the records, commits at once or when told.</summary>
    private sealed class RecordingReplica : ITableReplica
    {
        private readonly Lock _lock = new();
        private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
        private long _committed;
        private Exception? _failure;

        public List<JournalRecord> Records { get; } = [];

        public TaskCompletionSource Appended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool WritesWaitForCommit { get; init; }

        public bool CommitsAtOnce { get; init; } = true;

        public Exception? Refuse { get; init; }

        public void Append(JournalRecord record)
        {
            if (Refuse is not null)
            {
                throw Refuse;
            }

            Records.Add(record);
            Appended.TrySetResult();
            if (CommitsAtOnce)
            {
                CommitThrough(record.Sequence);
            }
        }

        public ValueTask WhenCommittedAsync(long sequence)
        {
            lock (_lock)
            {
                if (_failure is not null)
                {
                    return ValueTask.FromException(_failure);
                }

                if (sequence <= _committed)
                {
                    return ValueTask.CompletedTask;
                }

                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((sequence, done));
                return new ValueTask(done.Task);
            }
        }

        public void CommitThrough(long sequence)
        {
            lock (_lock)
            {
                _committed = sequence;
                foreach (var waiter in _waiters.Where(w => w.Sequence <= sequence).ToList())
                {
                    waiter.Done.SetResult();
                    _waiters.Remove(waiter);
                }
            }
        }

        public void FailCommits(Exception failure)
        {
            lock (_lock)
            {
                _failure = failure;
                foreach (var waiter in _waiters)
                {
                    waiter.Done.SetException(failure);
                }

                _waiters.Clear();
            }
        }
    }
}
