using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
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
    private readonly Lock _append = new();
    // Guards _flushing and _round. Waiters for durability block on the current round's task, which the flush ending it
    // completes: each blocked thread has its own event, so they wake independently (measured 20-25x one writer with
    // 64 writers, against 9x with Monitor.PulseAll or one shared event, whose waiters wake one after another).
    private readonly Lock _durableGate = new();
    private bool _flushing;
    private TaskCompletionSource _round = NewRound();
    private readonly Timer? _timer;
    // Records are gathered in _pending and written at the segment's end with positional writes; no FileStream, whose
    // handle cannot be shared with an fsync running beside appends.
    private const int PendingCapacity = 1 << 16;
    private readonly byte[] _pending = new byte[PendingCapacity];
    private int _pendingLength;
    private SafeFileHandle _file;
    private long _fileLength;
    private long _nextSequence;
    private long _writtenSequence;
    private long _durableSequence;
    private long _segmentBytes;
    private long _segmentFirstSequence;
    private bool _disposed;

    private Journal(string directory, SafeFileHandle file, long fileLength, long segmentFirstSequence, long lastSequence, FsyncPolicy policy)
    {
        _directory = directory;
        _file = file;
        _fileLength = _segmentBytes = fileLength;
        _segmentFirstSequence = segmentFirstSequence;
        _nextSequence = lastSequence + 1;
        _writtenSequence = _durableSequence = lastSequence;
        Policy = policy;
        if (policy != FsyncPolicy.Always)
        {
            _timer = new Timer(_ => FlushInBackground(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }
    }

    public FsyncPolicy Policy { get; }

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

    /// <summary>The size of the current segment: what a snapshot would let go.</summary>
    public long SegmentBytes => Volatile.Read(ref _segmentBytes);

    /// <summary>
    /// Reads the directory's segments, replaying every record after <paramref name="afterSequence"/> (what a snapshot
    /// already holds), truncates a torn tail, and opens the last segment for appending.
    /// </summary>
    /// <exception cref="JournalCorruptedException">A bad record is followed by valid ones, or records are missing.</exception>
    public static Journal Open(string directory, long afterSequence, FsyncPolicy policy, Action<ReadOnlySpan<byte>> replay)
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

        long last = afterSequence, end = 0, lastInSegment = afterSequence;
        for (var i = first; i < segments.Count; i++)
        {
            var (firstSequence, path) = segments[i];
            if (i > first && firstSequence != last + 1)
            {
                throw new JournalCorruptedException(path, 0, $"the segment starts at record {firstSequence} where {last + 1} was due");
            }

            var scan = Scan(path, firstSequence, allowTornTail: i == segments.Count - 1, (sequence, payload) =>
            {
                if (sequence > afterSequence)
                {
                    replay(payload);
                }
            });
            lastInSegment = firstSequence + scan.Records - 1;
            last = Math.Max(afterSequence, lastInSegment);
            end = scan.ValidLength;
        }

        // Appending continues the last segment only if its records reach the snapshot's; otherwise a new one starts.
        SafeFileHandle file;
        long fileFirst;
        if (segments.Count > 0 && lastInSegment == last)
        {
            fileFirst = segments[^1].FirstSequence;
            file = File.OpenHandle(segments[^1].Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            RandomAccess.SetLength(file, end);
            RandomAccess.FlushToDisk(file);
        }
        else
        {
            fileFirst = last + 1;
            end = 0;
            file = NewSegment(directory, fileFirst);
        }

        return new Journal(directory, file, end, fileFirst, last, policy);
    }

    /// <summary>
    /// Reads one segment's records in order, checking each one's checksum and sequence. With
    /// <paramref name="allowTornTail"/>, a last record cut short (and nothing valid after it) ends the scan; any other
    /// damage throws.
    /// </summary>
    /// <exception cref="JournalCorruptedException">The segment is damaged.</exception>
    public static JournalSegmentSummary Scan(string path, long firstSequence, bool allowTornTail, JournalRecordHandler onRecord)
    {
        var bytes = File.ReadAllBytes(path);
        long offset = 0, sequence = firstSequence;
        while (offset < bytes.Length)
        {
            if (!TryRead(bytes, offset, sequence, out var payload, out var next, out var problem, out var cutShort))
            {
                // A torn write (the process died while appending) leaves the last record cut short; anything else,
                // or valid records after it, is corruption.
                if (!allowTornTail || !cutShort || FindValidRecordAfter(bytes, offset, sequence))
                {
                    throw new JournalCorruptedException(path, offset, problem);
                }

                return new JournalSegmentSummary(firstSequence, sequence - firstSequence, offset, bytes.Length - offset);
            }

            onRecord(sequence, payload);
            sequence++;
            offset = next;
        }

        return new JournalSegmentSummary(firstSequence, sequence - firstSequence, offset, 0);
    }

    /// <summary>
    /// Closes the current segment (written and fsynced) and starts the next, unless it is still empty; returns the
    /// sequence of the last record before the new segment. Everything up to it is on disk when this returns.
    /// </summary>
    public long Rotate() => Exclusively(() =>
    {
        lock (_append)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WritePending();
            RandomAccess.FlushToDisk(_file);
            Volatile.Write(ref _durableSequence, _writtenSequence);
            if (_segmentFirstSequence == _nextSequence)
            {
                return _nextSequence - 1;
            }

            var next = NewSegment(_directory, _nextSequence);
            _file.Dispose();
            _file = next;
            _fileLength = 0;
            _segmentFirstSequence = _nextSequence;
            Volatile.Write(ref _segmentBytes, 0);
            return _nextSequence - 1;
        }
    });

    private static SafeFileHandle NewSegment(string directory, long firstSequence)
    {
        var file = File.OpenHandle(DurableFiles.SegmentPath(directory, firstSequence), FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        DurableFiles.SyncDirectory(directory);
        return file;
    }

    /// <summary>
    /// The lock appends are made under. A durable table's store holds it while it changes memory and appends the
    /// change's record, so the journal's order is the table's, with one lock per write.
    /// </summary>
    public Lock WriteLock => _append;

    /// <summary>Appends a record, holding <see cref="WriteLock"/>; returns its sequence.</summary>
    public long Append(ReadOnlySpan<byte> payload)
    {
        Debug.Assert(_append.IsHeldByCurrentThread, "Append is called holding WriteLock.");
        // The record is built where it will be written from: in the pending buffer, or alone when larger than it.
        var length = HeaderLength + payload.Length + TrailerLength;
        if (_pendingLength + length > PendingCapacity)
        {
            WritePending();
        }

        var alone = length > PendingCapacity;
        var record = alone ? new byte[length] : _pending.AsSpan(_pendingLength, length);
        var sequence = _nextSequence++;
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], ~(uint)payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], sequence);
        payload.CopyTo(record[HeaderLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record[(HeaderLength + payload.Length)..], Checksum(record[8..HeaderLength], payload));
        if (alone)
        {
            RandomAccess.Write(_file, record, _fileLength);
            _fileLength += length;
        }
        else
        {
            _pendingLength += length;
        }

        _writtenSequence = sequence;
        Volatile.Write(ref _segmentBytes, _segmentBytes + length);
        return sequence;
    }

    /// <summary>
    /// Returns once the record <paramref name="sequence"/> is on disk. One waiter at a time fsyncs everything appended so
    /// far; the others sleep until an fsync covers them (group commit).
    /// </summary>
    public void WaitDurable(long sequence)
    {
        while (Volatile.Read(ref _durableSequence) < sequence)
        {
            if (TryLead(out var round))
            {
                try
                {
                    // Writers woken by the last fsync are appending now: letting them in first makes this fsync cover them.
                    Thread.Yield();
                    Volatile.Write(ref _durableSequence, FlushToDisk());
                }
                finally
                {
                    EndFlush();
                }
            }
            else
            {
                round.Task.Wait();
            }
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Exclusively(() =>
        {
            if (!_disposed)
            {
                Volatile.Write(ref _durableSequence, FlushToDisk());
                _disposed = true;
                _file.Dispose();
            }

            return 0;
        });
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

    private long FlushToDisk()
    {
        long upTo;
        SafeFileHandle file;
        lock (_append)
        {
            WritePending();
            upTo = _writtenSequence;
            file = _file;
        }

        // Appends go on while the disk catches up; they are covered by the next fsync. Only the flusher rotates, so
        // the handle stays open until this returns.
        RandomAccess.FlushToDisk(file);
        return upTo;
    }

    /// <summary>Hands the gathered records to the operating system; called holding the append lock.</summary>
    private void WritePending()
    {
        if (_pendingLength > 0)
        {
            RandomAccess.Write(_file, _pending.AsSpan(0, _pendingLength), _fileLength);
            _fileLength += _pendingLength;
            _pendingLength = 0;
        }
    }

    private void FlushInBackground()
    {
        try
        {
            if (Policy == FsyncPolicy.EverySecond)
            {
                Exclusively(() =>
                {
                    if (!_disposed)
                    {
                        Volatile.Write(ref _durableSequence, FlushToDisk());
                    }

                    return 0;
                });
            }
            else
            {
                lock (_append)
                {
                    if (!_disposed)
                    {
                        WritePending();
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed between ticks.
        }
    }

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
