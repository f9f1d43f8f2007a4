using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// A durable table's storage: every write goes to the in-memory store and then, as the resulting state of each key it
/// touched, to the journal, under one lock (the journal's) so the journal's order is the table's. A batch becomes one record, so it is
/// replayed whole or not at all. With <see cref="FsyncPolicy.Always"/> a write returns only once its record is on disk.
/// <para>
/// A snapshot never stops writers. It closes the journal segment at sequence S, then writes the live table as it reads
/// it. That image is fuzzy (a write after S may or may not be in it), but every journal record sets a key to its whole
/// state, so replaying the records after S over the image gives exactly the table: a key written after S ends as its
/// last record says, any other key has not changed since S. Before the snapshot is renamed into place, the journal is
/// made durable up to every write the image could have seen, so an unacknowledged write (or half a batch) never
/// reaches disk through the snapshot alone. The two newest snapshots are kept, and the segments the older one covers
/// are deleted: if the newest is damaged, recovery falls back to the older one and the longer journal.
/// </para>
/// </summary>
internal sealed class JournaledStore<TKey, TValue>(TableStore<TKey, TValue> inner, bool uniqueKeys, Journal journal, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, DurabilityOptions durability, DurableFileSystem files, FileStream directoryLock, long snapshotSequence)
    : RecordingStore<TKey, TValue>(inner, uniqueKeys, journal.WriteLock, keyCodec, valueCodec), IDurableStore
    where TKey : notnull
{
    // The journal's append lock: changing memory and appending the record happen under one lock.
    private readonly SemaphoreSlim _snapshotting = new(1, 1);
    private readonly CancellationTokenSource _releasing = new();
    private bool _released;
    private long _snapshotSequence = snapshotSequence;

    // When the newest snapshot was written by this table (a timestamp of the journal's clock); 0 until it writes one.
    private long _snapshotAt;
    private Exception? _snapshotError;

    public override StoreCapabilities Capabilities => Inner.Capabilities | StoreCapabilities.Journaled;

    protected override bool Released => _released;

    /// <summary>Applies one journal record to a store, during recovery.</summary>
    public static void Replay(TableStore<TKey, TValue> store, ReadOnlySpan<byte> record, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        var replay = new StoreReplay<TKey, TValue>(store, keyCodec, valueCodec);
        JournalRecordFormat.Decode(record, ref replay);
    }

    /// <summary>A deleted durable table keeps its files (its owner's death must not erase its data): stop any snapshot,
    /// close the journal and the directory, then drop the objects from memory without journaling that. The files are
    /// closed and the directory released even when the journal's last flush fails; that failure is reported.</summary>
    public override void Release()
    {
        lock (WriteLock)
        {
            _released = true;
        }

        _releasing.Cancel();
        _snapshotting.Wait();
        var failedBefore = journal.Failure;
        journal.Dispose();
        directoryLock.Dispose();
        Inner.Release();
        if (failedBefore is null && journal.Failure is { } failure)
        {
            Report(failure, tableClosed: true);
        }
    }

    /// <summary>The journal's background flush or fsync failed (policies other than Always): the table fails as a
    /// writer's failure would fail it, and the failure is reported, since no writer is there to be told.</summary>
    public void OnBackgroundFailure(IOException cause)
    {
        MarkFailed(cause, journal.Policy == FsyncPolicy.EverySecond ? "syncing" : "writing");
        CloseFailed();
    }

    public FsyncPolicy Fsync => journal.Policy;

    public bool AcknowledgesLater => journal.Policy == FsyncPolicy.Always;

    /// <summary>Completes once every record appended so far is on disk.</summary>
    /// <exception cref="TableException">The journal failed first: the table is closed.</exception>
    public ValueTask WhenDurableAsync()
    {
        ThrowIfReleased();
        var last = journal.LastSequence;
        return journal.DurableSequence >= last ? ValueTask.CompletedTask : AwaitDurableAsync(last);
    }

    private async ValueTask AwaitDurableAsync(long sequence)
    {
        try
        {
            await journal.WhenDurableAsync(sequence).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            FailTable(e, "syncing");
        }
    }

    /// <summary>What the journal and snapshots stand at.</summary>
    public DurableTableStatus Status() =>
        new(durability.Directory, journal.Policy, journal.LastSequence, Volatile.Read(ref _snapshotSequence), journal.SegmentBytes, Volatile.Read(ref _snapshotError), journal.DurableSequence, journal.SinceLastFsync, Table?.Failure,
            Volatile.Read(ref _snapshotAt) is var at and > 0 ? journal.Time.GetElapsedTime(at) : null);

    /// <summary>Takes a snapshot now (after any running one); returns the last journal sequence it includes.</summary>
    /// <exception cref="IOException">The snapshot could not be written; the table goes on with its journal.</exception>
    /// <exception cref="TableException">The journal failed meanwhile, and the table with it.</exception>
    public async Task<long> SnapshotAsync(CancellationToken cancellation)
    {
        await _snapshotting.WaitAsync(cancellation).ConfigureAwait(false);
        IOException failure;
        try
        {
            return await journal.Scheduler.Run(TakeSnapshot, cancellation).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            failure = e;
        }
        finally
        {
            _snapshotting.Release();
        }

        OnSnapshotFailed(failure);
        Table!.ThrowIfDeleted();
        ExceptionDispatchInfo.Throw(failure);
        return 0;
    }

    /// <summary>Writes a snapshot at the codecs' current versions right after opening read values of an older version
    /// (or under an old name), so that no later open reads them again; the segments from before are retired as usual.
    /// A failure leaves the table on its journal (what it read stays readable) and is reported.</summary>
    public void SnapshotAfterUpgrade()
    {
        _snapshotting.Wait();
        IOException failure;
        try
        {
            TakeSnapshot();
            return;
        }
        catch (IOException e)
        {
            failure = e;
        }
        finally
        {
            _snapshotting.Release();
        }

        OnSnapshotFailed(failure);
    }

    private long TakeSnapshot()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released), this);
        var table = Table!;
        var sequence = journal.Rotate();
        var path = DurableFiles.SnapshotPath(durability.Directory, sequence);
        var renamed = false;
        TableFile.Write(files, path, table.Type, table.Access, table.Name, sequence, Inner.Enumerate(reverse: false), KeyCodec, ValueCodec, MakeSeenWritesDurable, _ => journal.SyncDirectory(), _releasing.Token);
        ObjectDisposedException.ThrowIf(!renamed, this);
        Volatile.Write(ref _snapshotSequence, sequence);
        // At least 1: 0 means "none yet", and a provider's clock may start at 0.
        Volatile.Write(ref _snapshotAt, Math.Max(1, journal.Time.GetTimestamp()));
        Volatile.Write(ref _snapshotError, null);
        Compact();
        return sequence;

        bool MakeSeenWritesDurable()
        {
            long last;
            lock (WriteLock)
            {
                if (_released)
                {
                    return false;
                }

                // Holding the lock, no write is between changing memory and appending its record: every change the
                // image saw has a record at or before this one.
                last = journal.LastSequence;
            }

            journal.WaitDurable(last);
            return renamed = true;
        }
    }

    /// <summary>Keeps the two newest snapshots and the segments after the older one; deletes the rest. A file that
    /// cannot be deleted stays and is reported (the next compaction tries again: an old file only takes room); a failed
    /// directory sync fails the journal.</summary>
    private void Compact()
    {
        var directory = durability.Directory;
        var snapshots = DurableFiles.Snapshots(directory);
        if (snapshots.Count < 2)
        {
            return;
        }

        var kept = snapshots[^2].Sequence;
        var retired = snapshots.SkipLast(2).Select(s => s.Path).ToList();

        // A segment is wholly covered when the next one starts at or before the record after the kept snapshot.
        var segments = DurableFiles.Segments(directory);
        for (var i = 0; i + 1 < segments.Count && segments[i + 1].FirstSequence <= kept + 1; i++)
        {
            retired.Add(segments[i].Path);
        }

        foreach (var path in retired)
        {
            try
            {
                files.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Report(e, tableClosed: false);
            }
        }

        journal.SyncDirectory();
    }

    /// <summary>Starts a snapshot in the background once the journal since the last one outgrows the threshold.</summary>
    private void SnapshotIfDue()
    {
        if (journal.SegmentBytes < durability.SnapshotAfterBytes || !_snapshotting.Wait(0))
        {
            return;
        }

        _ = journal.Scheduler.Run(() =>
        {
            Exception? failure = null;
            try
            {
                if (journal.SegmentBytes >= durability.SnapshotAfterBytes)
                {
                    TakeSnapshot();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && Volatile.Read(ref _released))
            {
                // The table was deleted while the snapshot ran; its files stay as they were.
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                _snapshotting.Release();
            }

            if (failure is not null)
            {
                OnSnapshotFailed(failure);
            }
        });
    }

    /// <summary>
    /// After a snapshot failed (outside the snapshot's turn, since closing the table waits for it): if the journal
    /// failed with it, the table fails; otherwise the table goes on with its journal, the previous snapshot stays in
    /// use, and the failure is kept for <see cref="Status"/> and reported. The next threshold crossing tries again.
    /// </summary>
    private void OnSnapshotFailed(Exception failure)
    {
        if (journal.Failure is { } journalFailure)
        {
            MarkFailed(journalFailure, "snapshotting");
            CloseFailed();
            return;
        }

        Volatile.Write(ref _snapshotError, failure);
        Report(failure, tableClosed: false);
    }

    protected override void Acknowledge(long sequence)
    {
        if (sequence > 0 && journal.Policy == FsyncPolicy.Always && !durability.WritesWaitForFsync)
        {
            journal.RequestFlush();
        }
        else if (sequence > 0 && journal.Policy == FsyncPolicy.Always)
        {
            try
            {
                journal.WaitDurable(sequence);
            }
            catch (IOException e)
            {
                FailTable(e, "syncing");
            }
        }

        SnapshotIfDue();
    }

    /// <summary>Appends a record holding the journal's lock; when the journal fails, marks the table failed before the
    /// lock is released, so no reader sees the change whose record failed.</summary>
    protected override long Append(ReadOnlySpan<byte> record)
    {
        try
        {
            return journal.Append(record);
        }
        catch (IOException e)
        {
            throw MarkFailed(e, "writing");
        }
    }

    private TableException MarkFailed(IOException cause, string doing)
    {
        var root = journal.Failure ?? cause;
        var lost = journal.Policy switch
        {
            FsyncPolicy.Always => "Every acknowledged write is on disk; the writes that failed are not applied",
            FsyncPolicy.EverySecond => "Writes acknowledged since the last fsync (at most about a second of them) may be lost",
            _ => "Writes the operating system had not yet written may be lost",
        };
        Table!.MarkFailed(new TableException(TableError.StorageFailed,
            $"{Table} was closed because {doing} its journal in {durability.Directory} failed: {root.Message}. {lost}. " +
            "Free space or repair the disk, then open the table again with DurableTable.Open.", root));
        return new TableException(TableError.StorageFailed, Table.Failure!.Message, root);
    }

    /// <summary>Fails and closes the table from outside the journal's lock, and throws its failure.</summary>
    [DoesNotReturn]
    private void FailTable(IOException cause, string doing)
    {
        var failure = MarkFailed(cause, doing);
        CloseFailed();
        throw failure;
    }

    /// <summary>Closes the failed table: the name is freed and the directory released, so it can be opened again.</summary>
    protected override void CloseFailed()
    {
        if (Table!.CloseFailed())
        {
            DurabilityMetrics.Of(Table.Node).OnStorageFailure();
            Report(Table.Failure!, tableClosed: true);
        }
    }

    private void Report(Exception failure, bool tableClosed) =>
        Table!.Node.Report(new StorageFailureReport(Table.Owner, Table.Name, durability.Directory, tableClosed, failure));
}
