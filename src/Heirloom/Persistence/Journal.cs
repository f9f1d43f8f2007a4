using System.Buffers.Binary;
using System.Numerics;

namespace Heirloom.Persistence;

/// <summary>
/// An append-only journal of records: [payload length u32][its complement u32][sequence u64][payload][CRC-32C of
/// sequence and payload u32]. Sequences start at 1 and grow by one. The length's complement tells a damaged length from
/// a torn write: only a record cut short at the end of the file is a torn tail; anything else is corruption. Appends are buffered; <see cref="WaitDurable"/> writes and fsyncs everything
/// appended so far, so concurrent writers waiting together share one fsync (group commit).
/// </summary>
internal sealed class Journal : IDisposable
{
    private const int HeaderLength = 16;
    private const int TrailerLength = 4;

    private readonly FileStream _stream;
    private readonly Lock _append = new();
    private readonly Lock _flush = new();
    private readonly Timer? _timer;
    private long _nextSequence;
    private long _writtenSequence;
    private long _durableSequence;
    private bool _disposed;

    private Journal(FileStream stream, long lastSequence, FsyncPolicy policy)
    {
        _stream = stream;
        _nextSequence = lastSequence + 1;
        _writtenSequence = _durableSequence = lastSequence;
        Policy = policy;
        if (policy != FsyncPolicy.Always)
        {
            _timer = new Timer(_ => FlushInBackground(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }
    }

    public FsyncPolicy Policy { get; }

    /// <summary>Reads every record of <paramref name="path"/>, truncating a torn tail, and opens it for appending.</summary>
    /// <exception cref="JournalCorruptedException">A bad record is followed by valid ones.</exception>
    public static Journal Open(string path, FsyncPolicy policy, Action<ReadOnlySpan<byte>> replay)
    {
        var bytes = File.Exists(path) ? File.ReadAllBytes(path) : [];
        long offset = 0, sequence = 0;
        while (offset < bytes.Length)
        {
            if (!TryRead(bytes, offset, sequence + 1, out var payload, out var next, out var problem, out var cutShort))
            {
                // A torn write (the process died while appending) leaves the last record cut short; anything else,
                // or valid records after it, is corruption.
                if (!cutShort || FindValidRecordAfter(bytes, offset, sequence + 1))
                {
                    throw new JournalCorruptedException(path, offset, problem);
                }

                break; // a torn tail: the last write did not complete
            }

            replay(payload);
            sequence++;
            offset = next;
        }

        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1 << 16);
        stream.SetLength(offset);
        stream.Position = offset;
        stream.Flush(flushToDisk: true);
        return new Journal(stream, sequence, policy);
    }

    /// <summary>Appends a record; returns its sequence.</summary>
    public long Append(ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        Span<byte> trailer = stackalloc byte[TrailerLength];
        lock (_append)
        {
            var sequence = _nextSequence++;
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], ~(uint)payload.Length);
            BinaryPrimitives.WriteInt64LittleEndian(header[8..], sequence);
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, Checksum(header[8..], payload));
            _stream.Write(header);
            _stream.Write(payload);
            _stream.Write(trailer);
            _writtenSequence = sequence;
            return sequence;
        }
    }

    /// <summary>Returns once the record <paramref name="sequence"/> is on disk; one fsync serves every waiter.</summary>
    public void WaitDurable(long sequence)
    {
        if (Volatile.Read(ref _durableSequence) >= sequence)
        {
            return;
        }

        lock (_flush)
        {
            if (_durableSequence < sequence)
            {
                _durableSequence = FlushToDisk();
            }
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_flush)
        {
            if (_disposed)
            {
                return;
            }

            _durableSequence = FlushToDisk();
            _disposed = true;
            _stream.Dispose();
        }
    }

    private long FlushToDisk()
    {
        long upTo;
        lock (_append)
        {
            _stream.Flush();
            upTo = _writtenSequence;
        }

        // Appends go on while the disk catches up; they are covered by the next fsync.
        RandomAccess.FlushToDisk(_stream.SafeFileHandle);
        return upTo;
    }

    private void FlushInBackground()
    {
        try
        {
            if (Policy == FsyncPolicy.EverySecond)
            {
                lock (_flush)
                {
                    _durableSequence = FlushToDisk();
                }
            }
            else
            {
                lock (_append)
                {
                    _stream.Flush();
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
