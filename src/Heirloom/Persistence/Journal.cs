using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using Heirloom.Processes;
using Microsoft.Win32.SafeHandles;

namespace Heirloom.Persistence;

/// <summary>
/// An append-only journal of records, kept as segment files each named by its first sequence. A record is [payload
/// length u32][its complement u32][sequence u64][payload][CRC-32C of sequence and payload u32]. Sequences start at 1 and
/// grow by one across segments. The length's complement tells a damaged length from a torn write: only a record cut
/// short at the end of the last segment is a torn tail; anything else is corruption. Appends are buffered;
/// <see cref="WaitDurable"/> writes and fsyncs everything appended so far, so concurrent writers waiting together share
/// one fsync (group commit). <see cref="Rotate"/> starts a new segment, so that a snapshot can retire the old ones.
/// </summary>
internal sealed class Journal : IDisposable
{
    private const int HeaderLength = 16;
    private const int TrailerLength = 4;

    /// <summary>What a record takes in the file besides its payload.</summary>
    internal const int FramingLength = HeaderLength + TrailerLength;

    private readonly string _directory;
    private readonly DurableFileSystem _files;
    private readonly JournalSegmentHeader _header;
    private readonly Action<IOException>? _onBackgroundFailure;
    private readonly Lock _append = new();
    // Guards _flushing, _round and the asynchronous waiters (see WhenDurableAsync). Writers blocked for durability wait
    // on the current round's task, which the flush ending it completes: each blocked thread has its own event, so they
    // wake independently (measured 20-25x one writer with 64 writers, against 9x with Monitor.PulseAll or one shared
    // event, whose waiters wake one after another).
    private readonly Lock _durableGate = new();
    private bool _flushing;
    private TaskCompletionSource _round = NewRound();
    private readonly ITimer? _timer;
    // Records are gathered in _pending and written at the segment's end with positional writes; no FileStream, whose
    // handle cannot be shared with an fsync running beside appends.
    private const int PendingCapacity = 1 << 16;
    private readonly byte[] _pending = new byte[PendingCapacity];
    private int _pendingLength;
    private SafeFileHandle _file;
    private string _path;
    private long _fileLength;
    // The current segment's length and last sequence as of the last fsync that succeeded; guarded by _append.
    private long _durableLength;
    private long _nextSequence;
    private long _writtenSequence;
    private long _durableSequence;
    private long _segmentBytes;
    private long _segmentFirstSequence;
    private bool _disposed;
    // The first write or fsync that failed. From then on nothing is written or synced again and every append and wait
    // throws: after a failed fsync the kernel may have dropped the dirty pages, so a later fsync that succeeds proves
    // nothing (PostgreSQL's "fsyncgate").
    private volatile IOException? _failure;

    private readonly Action<TimeSpan, long>? _onFsync;

    // When the last fsync finished (a timestamp of Time); opening counts as one, since everything replayed was on disk.
    private long _lastFsyncAt;

    private Journal(DurableFileSystem files, string directory, JournalSegmentHeader header, Segment segment, long lastSequence, FsyncPolicy policy, Action<IOException>? onBackgroundFailure, Action<TimeSpan, long>? onFsync, TimeProvider time, NodeScheduler scheduler)
    {
        Time = time;
        Scheduler = scheduler;
        _lastFsyncAt = time.GetTimestamp();
        _files = files;
        _onFsync = onFsync;
        _directory = directory;
        _header = header;
        _onBackgroundFailure = onBackgroundFailure;
        _file = segment.File;
        _path = segment.Path;
        _fileLength = _durableLength = segment.Length;
        _segmentBytes = segment.Length - segment.HeaderLength;
        _segmentFirstSequence = segment.FirstSequence;
        _nextSequence = lastSequence + 1;
        _writtenSequence = _durableSequence = lastSequence;
        Policy = policy;
        if (policy != FsyncPolicy.Always)
        {
            // The once-a-second flush (and fsync, for EverySecond) runs on the table's node's clock. It must not keep
            // the opening code's execution context (its AsyncLocals) alive for the journal's life.
            using (ExecutionContext.SuppressFlow())
            {
                _timer = time.CreateTimer(static journal => ((Journal)journal!).FlushInBackground(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>The clock of the journal's flushes, fsync timings and watches: the table's node's.</summary>
    public TimeProvider Time { get; }

    /// <summary>Where the flush loop, the ends of durable waits and the table's background snapshots run: the node's
    /// scheduler.</summary>
    public NodeScheduler Scheduler { get; }

    public FsyncPolicy Policy { get; }

    /// <summary>The first write or fsync that failed, or null while the journal works.</summary>
    public IOException? Failure => _failure;

    /// <summary>The sequence of the last record appended.</summary>
    public long LastSequence
    {
        get
        {
            lock (_append)
            {
                return _writtenSequence;
            }
        }
    }

    /// <summary>The records in the current segment, in bytes: what a snapshot would let go.</summary>
    public long SegmentBytes => Volatile.Read(ref _segmentBytes);

    /// <summary>
    /// Reads the directory's segments, replaying every record after <paramref name="afterSequence"/> (what a snapshot
    /// already holds), truncates a torn tail, and opens the last segment for appending. Every segment read must have
    /// been written for <paramref name="header"/>'s table type; <paramref name="replayFor"/> gives, for each segment's
    /// header and path, what replays its records (reading older codec versions through their upgrade steps), or null
    /// when its codecs are not the table's. Appending continues the last segment only when it has
    /// <paramref name="header"/>'s codecs and versions; otherwise a new segment starts, so a segment's records are all
    /// of one version.
    /// </summary>
    /// <exception cref="JournalCorruptedException">A bad record is followed by valid ones, or records are missing.</exception>
    /// <exception cref="TableFileException">A segment was written for another table type or other codecs, or a record
    /// does not decode with the codecs given.</exception>
    public static Journal Open(DurableFileSystem files, string directory, JournalSegmentHeader header, long afterSequence, FsyncPolicy policy, Func<JournalSegmentHeader, string, JournalRecordHandler?> replayFor, Action<IOException>? onBackgroundFailure = null, Action<TimeSpan, long>? onFsync = null, TimeProvider? time = null, NodeScheduler? scheduler = null)
    {
        var segments = DurableFiles.Segments(directory);

        // Segments wholly covered by the snapshot are skipped: the next one starts at or before the first record due.
        var first = 0;
        while (first + 1 < segments.Count && segments[first + 1].FirstSequence <= afterSequence + 1)
        {
            first++;
        }

        if (segments.Count > 0 && segments[first].FirstSequence > afterSequence + 1)
        {
            throw new JournalCorruptedException(segments[first].Path, 0, $"records {afterSequence + 1} to {segments[first].FirstSequence - 1} are missing: no snapshot or segment holds them");
        }

        long last = afterSequence, lastInSegment = afterSequence;
        JournalSegmentSummary scan = default;
        for (var i = first; i < segments.Count; i++)
        {
            var (firstSequence, path) = segments[i];
            if (i > first && firstSequence != last + 1)
            {
                throw new JournalCorruptedException(path, 0, $"the segment starts at record {firstSequence} where {last + 1} was due");
            }

            scan = Scan(path, firstSequence, allowTornTail: i == segments.Count - 1, found =>
            {
                var replay = found.Type == header.Type ? replayFor(found, path) : null;
                if (replay is null)
                {
                    throw new TableFileException(found.Type == header.Type ? TableFileError.WrongCodec : TableFileError.WrongType,
                        $"{path} holds a {found.Type} table written with codecs {found.Codecs}; it cannot be opened as a {header.Type} table with codecs {header.Codecs}. Open it with the key and value types (and codecs) it was written with.{CodecResolution.RenameHint(found.ValueCodec, header.ValueCodec)}");
                }

                return (sequence, offset, payload) =>
                {
                    if (sequence > afterSequence)
                    {
                        ReplayOne(replay, found, path, sequence, offset, payload);
                    }
                };
            });
            lastInSegment = scan.LastSequence;
            last = Math.Max(afterSequence, lastInSegment);
        }

        // Appending continues the last segment only if its records reach the snapshot's; otherwise a new one starts.
        // A segment of other codecs or versions (an upgrade) is cut to its valid records and closed; records then go to
        // a new segment, unless it holds none, when its header is rewritten.
        var segment = segments.Count > 0 && lastInSegment == last && (scan.Header is null || scan.Records == 0 || scan.Header.SameCodecs(header))
            ? ContinueSegment(files, segments[^1].Path, segments[^1].FirstSequence, scan, header)
            : NewSegment(files, directory, last + 1, header, cutTornTailOf: segments.Count > 0 && lastInSegment == last ? (segments[^1].Path, scan) : null);
        return new Journal(files, directory, header, segment, last, policy, onBackgroundFailure, onFsync, time ?? TimeProvider.System, scheduler ?? NodeScheduler.ThreadPool);
    }

    /// <summary>
    /// Reads one segment's header and records in order, checking each record's checksum and sequence. With
    /// <paramref name="allowTornTail"/>, a last record cut short (and nothing valid after it) ends the scan; any other
    /// damage throws. <paramref name="onHeader"/> gets the segment's header before any record, and gives what receives
    /// the records (or throws, to refuse the segment).
    /// </summary>
    /// <exception cref="JournalCorruptedException">The segment is damaged.</exception>
    public static JournalSegmentSummary Scan(string path, long firstSequence, bool allowTornTail, Func<JournalSegmentHeader, JournalRecordHandler> onHeader)
    {
        var bytes = File.ReadAllBytes(path);
        JournalSegmentHeader? header;
        int headerLength;
        bool cutShort;
        try
        {
            header = JournalSegmentHeader.Read(bytes, out headerLength, out cutShort);
        }
        catch (InvalidDataException e)
        {
            throw new JournalCorruptedException(path, 0, e.Message, e);
        }

        if (header is null)
        {
            // Only the newest segment may have been cut short while it was being created, before any record.
            return allowTornTail && cutShort
                ? new JournalSegmentSummary(null, firstSequence, 0, 0, bytes.Length)
                : throw new JournalCorruptedException(path, 0, "its header is cut short, yet it is not the newest segment");
        }

        var onRecord = onHeader(header);

        long offset = headerLength, sequence = firstSequence;
        while (offset < bytes.Length)
        {
            if (!TryRead(bytes, offset, sequence, out var payload, out var next, out var problem, out var recordCutShort))
            {
                // A torn write (the process died while appending) leaves the last record cut short; anything else,
                // or valid records after it, is corruption.
                if (!allowTornTail || !recordCutShort || FindValidRecordAfter(bytes, offset, sequence))
                {
                    throw new JournalCorruptedException(path, offset, problem);
                }

                return new JournalSegmentSummary(header, firstSequence, sequence - firstSequence, offset, bytes.Length - offset);
            }

            onRecord(sequence, offset, payload);
            sequence++;
            offset = next;
        }

        return new JournalSegmentSummary(header, firstSequence, sequence - firstSequence, offset, 0);
    }

    /// <summary>
    /// Closes the current segment (written and fsynced) and starts the next, unless it is still empty; returns the
    /// sequence of the last record before the new segment. Everything up to it is on disk when this returns. A new
    /// segment that cannot be created leaves the journal on the current one, working.
    /// </summary>
    /// <exception cref="IOException">The current segment could not be synced (the journal has failed), or the next could
    /// not be created.</exception>
    public long Rotate() => Exclusively(() =>
    {
        lock (_append)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowIfFailed();
            var (upTo, length) = WriteAndSync();
            PublishDurable(upTo, length);
            if (_segmentFirstSequence == _nextSequence)
            {
                return _nextSequence - 1;
            }

            var next = NewSegment(_files, _directory, _nextSequence, _header, Fail);
            _file.Dispose();
            _file = next.File;
            _path = next.Path;
            _fileLength = _durableLength = next.Length;
            _segmentFirstSequence = _nextSequence;
            Volatile.Write(ref _segmentBytes, 0);
            return _nextSequence - 1;
        }
    });

    /// <summary>
    /// The lock appends are made under. A durable table's store holds it while it changes memory and appends the
    /// change's record, so the journal's order is the table's, with one lock per write.
    /// </summary>
    public Lock WriteLock => _append;

    /// <summary>Appends a record, holding <see cref="WriteLock"/>; returns its sequence.</summary>
    /// <exception cref="IOException">Writing failed, now or before: the journal has failed.</exception>
    public long Append(ReadOnlySpan<byte> payload)
    {
        Debug.Assert(_append.IsHeldByCurrentThread, "Append is called holding WriteLock.");
        ThrowIfFailed();
        try
        {
            return AppendRecord(payload);
        }
        catch (IOException e)
        {
            throw Fail(e);
        }
    }

    /// <summary>Makes the directory's entries durable (after a snapshot's rename or a compaction); a failure fails the
    /// journal, as a failed fsync of a segment does, since what the directory lost cannot be known.</summary>
    public void SyncDirectory()
    {
        try
        {
            _files.SyncDirectory(_directory);
        }
        catch (IOException e)
        {
            throw Fail(e);
        }
    }

    /// <summary>
    /// Returns once the record <paramref name="sequence"/> is on disk. One waiter at a time fsyncs everything appended so
    /// far; the others sleep until an fsync covers them (group commit).
    /// </summary>
    /// <exception cref="IOException">The journal failed before the record reached the disk.</exception>
    public void WaitDurable(long sequence)
    {
        while (Volatile.Read(ref _durableSequence) < sequence)
        {
            try
            {
                ThrowIfFailed();

                // Writers woken by the last fsync are appending now: letting them in first makes this fsync cover them.
                FlushOrAwaitFlusher(letWritersIn: true);
            }
            catch (IOException) when (Volatile.Read(ref _durableSequence) >= sequence)
            {
                // An fsync covered the record before a later one failed (between this thread's check and now): the
                // record is on disk, and the failure is not this write's.
                return;
            }
        }
    }

    /// <summary>Fsyncs what is appended as the flusher, or, when another thread is flushing, waits for its round to end.</summary>
    /// <exception cref="IOException">This fsync failed: the journal has failed.</exception>
    private void FlushOrAwaitFlusher(bool letWritersIn)
    {
        if (!TryLead(out var round))
        {
            round.Task.Wait();
            return;
        }

        try
        {
            if (letWritersIn)
            {
                Thread.Yield();
            }

            FlushToDisk();
        }
        finally
        {
            EndFlush();
        }
    }

    // 1 while the flush loop runs: it fsyncs until everything appended is durable, for writers that do not block.
    private int _flushLoop;

    /// <summary>
    /// Starts making everything appended so far durable without waiting for it: a loop on the thread pool fsyncs until
    /// nothing appended is left undurable, each fsync covering every record appended while the previous one ran (group
    /// commit for writers that keep writes in flight). A failure fails the journal and goes to the background failure
    /// handler, as the timer's flushes do.
    /// </summary>
    public void RequestFlush()
    {
        // A full fence, as where the loop clears its flag: either the loop sees this writer's record or waiter, or
        // this writer sees the flag down.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _flushLoop) == 0 && Interlocked.CompareExchange(ref _flushLoop, 1, 0) == 0)
        {
            Scheduler.Queue(static journal => journal.FlushLoop(), this, preferLocal: false);
        }
    }

    /// <summary>Completes once the record <paramref name="sequence"/> is on disk, fsyncing (through
    /// <see cref="RequestFlush"/>) if it is not yet. The flush loop resumes the waiter in place once an fsync covers it
    /// (see <see cref="ResumeCoveredWaiters"/>).</summary>
    /// <exception cref="IOException">The journal failed before the record reached the disk.</exception>
    public ValueTask WhenDurableAsync(long sequence)
    {
        if (Volatile.Read(ref _durableSequence) >= sequence)
        {
            return ValueTask.CompletedTask;
        }

        // Its own task, whose one continuation the flush loop runs in place (a task shared by many awaiters resumes
        // only the first in place and queues the others).
        var durable = new TaskCompletionSource();
        lock (_durableGate)
        {
            // Checked under the gate: the loop publishes durability before it takes covered waiters under it, and a
            // failure is set before the waiters are failed under it.
            if (Volatile.Read(ref _durableSequence) >= sequence)
            {
                return ValueTask.CompletedTask;
            }

            ThrowIfFailedBefore(sequence);
            _durableWaiters.Add(new DurableWaiter(sequence, durable));
            _durableWaiterCount++;
        }

        RequestFlush();
        return new ValueTask(durable.Task);
    }

    // Asynchronous waiters for durability; the waiters an fsync covered, resumed one at a time; how many of both there
    // are (read without the gate to skip empty lists); and the number of the resumption running now (0 when none).
    // Guarded by _durableGate.
    private readonly List<DurableWaiter> _durableWaiters = [];
    private readonly Queue<TaskCompletionSource> _covered = new();
    private int _durableWaiterCount;
    private long _resumption;
    private long _resumptions;

    /// <summary>A writer waiting for its record to be on disk.</summary>
    private readonly record struct DurableWaiter(long Sequence, TaskCompletionSource Durable);

    // Takes the flush loop's role from a resumption still running after ResumptionLimit (armed by each resumption).
    private ITimer? _resumptionWatch;

    // How long the flush loop may spend resuming the writers of one fsync before another thread takes its role: longer
    // than a round's writers take to append their next write, and a bound, so that a resumed writer that blocks or
    // works long holds back no one else's fsync.
    private static readonly TimeSpan ResumptionLimit = TimeSpan.FromMilliseconds(2);

    private void FlushLoop()
    {
        while (true)
        {
            try
            {
                while (!_disposed && _failure is null && HasFlushWork())
                {
                    if (Volatile.Read(ref _durableSequence) < LastSequence)
                    {
                        FlushOrAwaitFlusher(letWritersIn: false);
                    }

                    if (!ResumeCoveredWaiters())
                    {
                        return;
                    }
                }
            }
            catch (IOException e)
            {
                Interlocked.Exchange(ref _flushLoop, 0);
                EndDurableWaits();

                // Outside the flusher role: the handler closes the table, which disposes this journal.
                _onBackgroundFailure?.Invoke(e);
                return;
            }

            Interlocked.Exchange(ref _flushLoop, 0);
            if (_disposed || _failure is not null)
            {
                EndDurableWaits();
                return;
            }

            // A record appended (or a waiter added) after the last check but before the flag cleared requested no
            // flush of its own.
            if (!HasFlushWork() || Interlocked.CompareExchange(ref _flushLoop, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private bool HasFlushWork() => Volatile.Read(ref _durableSequence) < LastSequence || Volatile.Read(ref _durableWaiterCount) > 0;

    /// <summary>
    /// Resumes the waiters the fsyncs so far covered, each in place on this thread, so that writers keeping one write
    /// in flight append their next record before the next fsync, which this loop then runs: group commit of whole
    /// rounds, with no thread hop between rounds. (With the resumptions queued, every other fsync covered half of the
    /// writers; with the loop handed to another thread after each round, each round paid for waking that thread.)
    /// A resumption still running after <see cref="ResumptionLimit"/> loses the role to a new loop, which resumes the
    /// rest. Returns whether this thread is still the flush loop.
    /// </summary>
    private bool ResumeCoveredWaiters()
    {
        long resumption;
        lock (_durableGate)
        {
            if (!TakeCoveredWaiters())
            {
                return true;
            }

            resumption = _resumption = ++_resumptions;
        }

        WatchResumption(ResumptionLimit);
        while (true)
        {
            TaskCompletionSource? durable;
            lock (_durableGate)
            {
                if (_resumption != resumption)
                {
                    return false;
                }

                if (!_covered.TryDequeue(out durable))
                {
                    _resumption = 0;
                    break;
                }

                _durableWaiterCount--;
            }

            durable.SetResult();
        }

        WatchResumption(Timeout.InfiniteTimeSpan);
        return true;
    }

    /// <summary>Moves the waiters whose records are durable to the covered queue, holding the gate; false when there is
    /// none to resume.</summary>
    private bool TakeCoveredWaiters()
    {
        var durable = Volatile.Read(ref _durableSequence);
        var kept = 0;
        for (var i = 0; i < _durableWaiters.Count; i++)
        {
            var waiter = _durableWaiters[i];
            if (waiter.Sequence <= durable)
            {
                _covered.Enqueue(waiter.Durable);
            }
            else
            {
                _durableWaiters[kept++] = waiter;
            }
        }

        _durableWaiters.RemoveRange(kept, _durableWaiters.Count - kept);
        return _covered.Count > 0;
    }

    private void WatchResumption(TimeSpan limit)
    {
        _resumptionWatch ??= Time.CreateTimer(static journal => ((Journal)journal!).TakeOverResumption(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            _resumptionWatch.Change(limit, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: the loop ends at its next check, and ends the remaining waits itself.
        }
    }

    /// <summary>The resumption that outlived its limit stops at its next waiter, and a new loop takes the role (the
    /// flag stays up) and the remaining waiters.</summary>
    private void TakeOverResumption()
    {
        lock (_durableGate)
        {
            if (_resumption == 0)
            {
                return;
            }

            _resumption = 0;
        }

        Scheduler.Queue(static journal => journal.FlushLoop(), this, preferLocal: false);
    }

    /// <summary>Ends every remaining wait once the journal failed or was closed: a waiter whose record an fsync covered
    /// before is resumed, any other gets the failure. On the thread pool: the continuations must not run inside the
    /// caller's locks.</summary>
    private void EndDurableWaits()
    {
        List<TaskCompletionSource> durable = [], failed = [];
        lock (_durableGate)
        {
            var durableSequence = Volatile.Read(ref _durableSequence);
            durable.AddRange(_covered);
            foreach (var waiter in _durableWaiters)
            {
                (waiter.Sequence <= durableSequence ? durable : failed).Add(waiter.Durable);
            }

            _durableWaiters.Clear();
            _covered.Clear();
            Volatile.Write(ref _durableWaiterCount, 0);
        }

        if (durable.Count + failed.Count == 0)
        {
            return;
        }

        var failure = _failure is null ? new IOException($"The journal in {_directory} was closed before these writes were on disk.") : Failed();
        Scheduler.Queue(
            static state =>
            {
                state.Durable.ForEach(waiter => waiter.SetResult());
                state.Failed.ForEach(waiter => waiter.SetException(state.Failure));
            },
            (Durable: durable, Failed: failed, Failure: failure),
            preferLocal: false);
    }

    /// <summary>Writes and syncs what is appended, then closes the segment. A failure to do so is kept in
    /// <see cref="Failure"/>, not thrown: the files are closed whatever happens, so the directory can be opened again.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        _resumptionWatch?.Dispose();
        Exclusively(() =>
        {
            if (!_disposed)
            {
                try
                {
                    if (_failure is null)
                    {
                        FlushToDisk();
                    }
                }
                catch (IOException)
                {
                    // Kept in _failure by the flush; the caller reads it from Failure.
                }

                _disposed = true;
                _file.Dispose();
            }

            return 0;
        });
    }

    private long AppendRecord(ReadOnlySpan<byte> payload)
    {
        // The record is built where it will be written from: in the pending buffer, or alone when larger than it.
        var length = HeaderLength + payload.Length + TrailerLength;
        if (_pendingLength + length > PendingCapacity)
        {
            WritePending();
        }

        var alone = length > PendingCapacity;
        var record = alone ? new byte[length] : _pending.AsSpan(_pendingLength, length);
        var sequence = _nextSequence;
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], ~(uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], sequence);
        payload.CopyTo(record[HeaderLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record[(HeaderLength + payload.Length)..], Checksum(record[8..HeaderLength], payload));
        if (alone)
        {
            _files.Write(_file, _path, record, _fileLength);
            _fileLength += length;
        }
        else
        {
            _pendingLength += length;
        }

        _nextSequence++;
        _writtenSequence = sequence;
        Volatile.Write(ref _segmentBytes, _segmentBytes + length);
        return sequence;
    }

    /// <summary>Opens the newest segment to append after its last valid record, cutting off a torn tail, or writing
    /// the header again when its creation was interrupted.</summary>
    private static Segment ContinueSegment(DurableFileSystem files, string path, long firstSequence, JournalSegmentSummary scan, JournalSegmentHeader header)
    {
        var file = files.OpenExisting(path);
        try
        {
            var length = scan.ValidLength;
            var rewrite = scan.Header is null || !scan.Header.SameCodecs(header);
            var headerLength = (rewrite ? header : scan.Header!).ToBytes().Length;
            if (rewrite)
            {
                Debug.Assert(scan.Records == 0, "only a segment without records gets another header");
                files.SetLength(file, path, 0);
                files.Write(file, path, header.ToBytes(), 0);
                length = headerLength;
            }
            else
            {
                files.SetLength(file, path, length);
            }

            files.FlushToDisk(file, path);
            return new Segment(file, path, firstSequence, length, headerLength);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Creates a segment, writes its header, and makes both the file and its name durable. A failed directory
    /// sync goes to <paramref name="onDirectorySyncFailure"/> (the journal fails); any other failure removes the new file.</summary>
    private static Segment NewSegment(DurableFileSystem files, string directory, long firstSequence, JournalSegmentHeader header, Func<IOException, IOException>? onDirectorySyncFailure = null, (string Path, JournalSegmentSummary Scan)? cutTornTailOf = null)
    {
        if (cutTornTailOf is { Scan.TornBytes: > 0 } previous)
        {
            // The previous segment will no longer be the newest, where alone a torn record is taken for an interrupted write.
            using var torn = files.OpenExisting(previous.Path);
            files.SetLength(torn, previous.Path, previous.Scan.ValidLength);
            files.FlushToDisk(torn, previous.Path);
        }

        var path = DurableFiles.SegmentPath(directory, firstSequence);
        var bytes = header.ToBytes();
        var file = files.CreateNew(path);
        try
        {
            files.Write(file, path, bytes, 0);
            files.FlushToDisk(file, path);
        }
        catch (IOException)
        {
            file.Dispose();
            TryDelete(files, path);
            throw;
        }

        try
        {
            files.SyncDirectory(directory);
        }
        catch (IOException e)
        {
            file.Dispose();
            TryDelete(files, path);
            throw onDirectorySyncFailure?.Invoke(e) ?? e;
        }

        return new Segment(file, path, firstSequence, bytes.Length, bytes.Length);
    }

    private static void TryDelete(DurableFileSystem files, string path)
    {
        try
        {
            files.Delete(path);
        }
        catch (IOException)
        {
            // An empty segment left behind is read as one whose creation was interrupted.
        }
    }

    /// <summary>Replays one record, naming the file and offset when its contents do not decode with the codecs given.</summary>
    private static void ReplayOne(JournalRecordHandler replay, JournalSegmentHeader header, string path, long sequence, long offset, ReadOnlySpan<byte> payload)
    {
        try
        {
            replay(sequence, offset, payload);
        }
        catch (Exception e) when (e is not (TableFileException or JournalCorruptedException or OutOfMemoryException))
        {
            throw new TableFileException(TableFileError.WrongCodec, $"{path} at byte {offset}: record {sequence} cannot be read with codecs {header.Codecs}: {e.Message}", e);
        }
    }

    /// <summary>Runs <paramref name="action"/> as the only flusher: no fsync, rotation or disposal runs beside it.</summary>
    private T Exclusively<T>(Func<T> action)
    {
        while (!TryLead(out var round))
        {
            round.Task.Wait();
        }

        try
        {
            return action();
        }
        finally
        {
            EndFlush();
        }
    }

    /// <summary>Becomes the flusher if none is running; otherwise gives the round to wait for.</summary>
    private bool TryLead(out TaskCompletionSource round)
    {
        lock (_durableGate)
        {
            round = _round;
            if (_flushing)
            {
                return false;
            }

            _flushing = true;
            return true;
        }
    }

    private void EndFlush()
    {
        TaskCompletionSource finished;
        lock (_durableGate)
        {
            _flushing = false;
            finished = _round;
            _round = NewRound();
        }

        finished.SetResult();
    }

    // Continuations run inline on completion: each blocked waiter's own event is set by the flusher.
    private static TaskCompletionSource NewRound() => new();

    /// <summary>The flusher's fsync: everything appended so far reaches the disk, then counts as durable.</summary>
    private void FlushToDisk()
    {
        long upTo, length;
        SafeFileHandle file;
        string path;
        lock (_append)
        {
            ThrowIfFailed();
            try
            {
                WritePending();
            }
            catch (IOException e)
            {
                throw Fail(e);
            }

            upTo = _writtenSequence;
            length = _fileLength;
            file = _file;
            path = _path;
        }

        // Appends go on while the disk catches up; they are covered by the next fsync. Only the flusher rotates, so
        // the handle stays open until this returns.
        var started = Time.GetTimestamp();
        try
        {
            _files.FlushToDisk(file, path);
        }
        catch (IOException e)
        {
            throw Fail(e);
        }

        long records;
        lock (_append)
        {
            // A write that failed meanwhile cut the segment back: then this fsync proves nothing.
            ThrowIfFailed();
            records = upTo - _durableSequence;
            PublishDurable(upTo, length);
        }

        var finished = Time.GetTimestamp();
        Volatile.Write(ref _lastFsyncAt, finished);
        _onFsync?.Invoke(Time.GetElapsedTime(started, finished), records);
    }

    /// <summary>The sequence of the last record known to be on disk.</summary>
    public long DurableSequence => Volatile.Read(ref _durableSequence);

    /// <summary>How long ago the last fsync finished (or the journal was opened).</summary>
    public TimeSpan SinceLastFsync => Time.GetElapsedTime(Volatile.Read(ref _lastFsyncAt));

    /// <summary>Writes and syncs everything appended, holding the append lock (for rotation).</summary>
    private (long UpTo, long Length) WriteAndSync()
    {
        try
        {
            WritePending();
            _files.FlushToDisk(_file, _path);
            return (_writtenSequence, _fileLength);
        }
        catch (IOException e)
        {
            throw Fail(e);
        }
    }

    private void PublishDurable(long upTo, long length)
    {
        Debug.Assert(_append.IsHeldByCurrentThread, "What is durable changes under the append lock, so a failure can cut the segment back to it.");
        _durableLength = length;
        Volatile.Write(ref _durableSequence, upTo);
    }

    /// <summary>Hands the gathered records to the operating system; called holding the append lock.</summary>
    private void WritePending()
    {
        if (_pendingLength > 0)
        {
            _files.Write(_file, _path, _pending.AsSpan(0, _pendingLength), _fileLength);
            _fileLength += _pendingLength;
            _pendingLength = 0;
        }
    }

    /// <summary>
    /// Marks the journal failed by <paramref name="cause"/> (the first failure is the one kept) and returns the
    /// exception to throw. With <see cref="FsyncPolicy.Always"/>, what was written after the last good fsync belongs
    /// to writes that are now failing, so the segment is cut back to it where the disk still allows, and a reopen
    /// does not bring back a write its writer was told had failed.
    /// </summary>
    private IOException Fail(IOException cause)
    {
        lock (_append)
        {
            if (_failure is null)
            {
                _failure = cause;
                _pendingLength = 0;
                if (Policy == FsyncPolicy.Always && !_disposed)
                {
                    TryCutBackToDurable();
                }
            }

            return Failed();
        }
    }

    private void TryCutBackToDurable()
    {
        try
        {
            _files.SetLength(_file, _path, _durableLength);
        }
        catch (IOException)
        {
            // The records stay; whether each failed write survives a reopen is then unknown, as for any write whose
            // fsync did not return.
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            throw Failed();
        }
    }

    /// <summary>Throws the journal's failure unless the record <paramref name="sequence"/> was on disk before it: once
    /// the journal has failed nothing more becomes durable, so what is durable then stays the answer.</summary>
    private void ThrowIfFailedBefore(long sequence)
    {
        if (_failure is not null && Volatile.Read(ref _durableSequence) < sequence)
        {
            throw Failed();
        }
    }

    private IOException Failed() =>
        new($"The journal in {_directory} failed and is no longer written: {_failure!.Message}", _failure);

    private void FlushInBackground()
    {
        try
        {
            Exclusively(() =>
            {
                if (!_disposed && _failure is null)
                {
                    if (Policy == FsyncPolicy.EverySecond)
                    {
                        FlushToDisk();
                    }
                    else
                    {
                        WritePendingInBackground();
                    }
                }

                return 0;
            });
        }
        catch (IOException e)
        {
            // Outside the flusher role: the handler closes the table, which disposes this journal.
            _onBackgroundFailure?.Invoke(e);
        }
    }

    private void WritePendingInBackground()
    {
        lock (_append)
        {
            try
            {
                WritePending();
            }
            catch (IOException e)
            {
                throw Fail(e);
            }
        }
    }

    /// <summary>An open segment: its handle and path, the sequence of its first record, its length and its header's.</summary>
    private readonly record struct Segment(SafeFileHandle File, string Path, long FirstSequence, long Length, int HeaderLength);

    private static bool TryRead(byte[] bytes, long offset, long expectedSequence, out ReadOnlySpan<byte> payload, out long next, out string problem, out bool cutShort)
    {
        payload = default;
        next = offset;
        cutShort = false;
        var remaining = bytes.Length - offset;
        if (remaining < 8)
        {
            problem = "an incomplete record header";
            cutShort = true;
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offset));
        if (~length != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)offset + 4)))
        {
            problem = "a damaged record length";
            return false;
        }

        if ((long)length > remaining - HeaderLength - TrailerLength)
        {
            problem = "a record cut short";
            cutShort = true;
            return false;
        }

        var sequenceAndPayload = bytes.AsSpan((int)offset + 8, 8 + (int)length);
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)(offset + HeaderLength + length)));
        if (Checksum(sequenceAndPayload[..8], sequenceAndPayload[8..]) != stored)
        {
            problem = "a checksum mismatch";
            return false;
        }

        var sequence = BinaryPrimitives.ReadInt64LittleEndian(sequenceAndPayload);
        if (sequence != expectedSequence)
        {
            problem = $"sequence {sequence} where {expectedSequence} was due";
            return false;
        }

        payload = sequenceAndPayload[8..];
        next = offset + HeaderLength + length + TrailerLength;
        problem = "";
        return true;
    }

    /// <summary>Whether any later offset starts a valid record with a later sequence: then the damage is not a torn tail.</summary>
    private static bool FindValidRecordAfter(byte[] bytes, long offset, long fromSequence)
    {
        for (var candidate = offset + 1; candidate + HeaderLength + TrailerLength <= bytes.Length; candidate++)
        {
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)candidate + 8));
            if (sequence >= fromSequence && TryRead(bytes, candidate, sequence, out _, out _, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    private static uint Checksum(ReadOnlySpan<byte> sequence, ReadOnlySpan<byte> payload) => Crc32C(Crc32C(0xFFFFFFFF, sequence), payload) ^ 0xFFFFFFFF;

    private static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
