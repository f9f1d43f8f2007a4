using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Heirloom.Persistence;

/// <summary>
/// Reads a table file in chunks rather than whole: its header from its first bytes and the checksum at its end, then
/// its objects in file order while another thread hashes the same chunks, so that checking the checksum costs no time
/// on the thread that loads, and a file of any size (past 2 GB) is read in a few megabytes of memory.
/// </summary>
/// <remarks>The objects are visited before the checksum is known: a caller that loads them into a table throws the
/// table's contents away when <see cref="VisitObjects"/> reports the file damaged.</remarks>
internal sealed class TableFileReader : IDisposable
{
    private const int ChecksumLength = 32;
    private const int ChunkSize = 4 << 20;
    private const int HeadSize = 1 << 20;

    // Chunks in flight between the loading thread and the hashing one.
    private const int Buffers = 3;

    private readonly SafeFileHandle _file;
    private readonly string _path;
    private readonly long _length;
    private readonly byte[] _head;
    private readonly byte[] _checksum = new byte[ChecksumLength];

    public TableFileReader(string path)
    {
        _path = path;
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        _length = RandomAccess.GetLength(_file);

        // The header is parsed from the file's first bytes followed by its last 32, the checksum: the same layout as a
        // whole file, so the header's checks (a truncated file, a header running into the checksum) hold as they are.
        var headLength = (int)Math.Min(_length - Math.Min(_length, ChecksumLength), HeadSize);
        _head = new byte[headLength + Math.Min(_length, ChecksumLength)];
        ReadExactly(_head.AsSpan(0, headLength), 0);
        ReadExactly(_head.AsSpan(headLength), _length - (_head.Length - headLength));
        _head.AsSpan(headLength).CopyTo(_checksum);
    }

    /// <summary>The file's header, and where its objects start.</summary>
    /// <exception cref="TableFileException">Not a table file, truncated, or an unknown version.</exception>
    public (TableFileInfo Info, int BodyStart) ReadHeader() => TableFile.ParseHeader(_head, _path);

    /// <summary>How many bytes the objects take.</summary>
    public long BodyLength(int bodyStart) => _length - ChecksumLength - bodyStart;

    /// <summary>
    /// Hands each object's key and value bytes to <paramref name="visit"/>, in file order, and returns whether the file
    /// matched its checksum. Objects are visited before that is known.
    /// </summary>
    /// <exception cref="TableFileException">The objects end inside one (a truncated or damaged file).</exception>
    public bool VisitObjects(int bodyStart, EncodedObjectVisitor visit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(_head, 0, bodyStart);
        using var free = new BlockingCollection<byte[]>();
        using var toHash = new BlockingCollection<(byte[] Buffer, int Start, int Count)>(Buffers);
        for (var i = 0; i < Buffers; i++)
        {
            free.Add(new byte[ChunkSize]);
        }

        var hasher = Task.Factory.StartNew(
            () =>
            {
                foreach (var (buffer, start, count) in toHash.GetConsumingEnumerable())
                {
                    hash.AppendData(buffer, start, count);
                    free.Add(buffer);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            ReadObjects(bodyStart, visit, free, toHash);
        }
        finally
        {
            toHash.CompleteAdding();
            hasher.GetAwaiter().GetResult();
        }

        return hash.GetCurrentHash().AsSpan().SequenceEqual(_checksum);
    }

    /// <summary>Whether the whole file matches its checksum, read once more from the start: for a file whose objects
    /// could not be read, to tell damage from a mistake.</summary>
    public bool IsIntact()
    {
        if (_length < ChecksumLength)
        {
            return false;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[ChunkSize];
        for (long offset = 0, end = _length - ChecksumLength; offset < end;)
        {
            var read = RandomAccess.Read(_file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - offset)), offset);
            if (read == 0)
            {
                return false;
            }

            hash.AppendData(buffer, 0, read);
            offset += read;
        }

        return hash.GetCurrentHash().AsSpan().SequenceEqual(_checksum);
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Reads the objects chunk by chunk; an object cut by a chunk's end is carried to the start of the next
    /// buffer, which is made big enough for it. Each chunk goes to the hasher once its objects were visited.</summary>
    private void ReadObjects(int bodyStart, EncodedObjectVisitor visit, BlockingCollection<byte[]> free, BlockingCollection<(byte[] Buffer, int Start, int Count)> toHash)
    {
        var end = _length - ChecksumLength;
        var offset = (long)bodyStart;
        var buffer = free.Take();
        var carried = 0;
        while (offset < end)
        {
            var read = RandomAccess.Read(_file, buffer.AsSpan(carried, (int)Math.Min(buffer.Length - carried, end - offset)), offset);
            if (read == 0)
            {
                throw new TableFileException(TableFileError.Truncated, $"{_path} became shorter while it was read.");
            }

            offset += read;
            var data = buffer.AsSpan(0, carried + read);
            var used = VisitWhole(data, offset - data.Length, end, visit);
            if (offset == end && used < data.Length)
            {
                throw new TableFileException(TableFileError.Truncated, $"{_path} ends inside an object at byte {offset - data.Length + used}.");
            }

            var next = free.Take();
            var rest = data.Length - used;
            if (next.Length < rest + ChunkSize)
            {
                next = new byte[rest + ChunkSize];
            }

            data[used..].CopyTo(next);
            toHash.Add((buffer, carried, read));
            (buffer, carried) = (next, rest);
        }

        toHash.Add((buffer, 0, 0));
    }

    /// <summary>Visits the whole objects at the start of <paramref name="data"/> (which starts at byte
    /// <paramref name="at"/> of the file) and returns the bytes they take; an object whose length runs past the objects'
    /// <paramref name="end"/> is damage, not a cut.</summary>
    private int VisitWhole(ReadOnlySpan<byte> data, long at, long end, EncodedObjectVisitor visit)
    {
        var used = 0;
        while (true)
        {
            var keyLength = FrameLength(data, used, at, end);
            if (keyLength < 0 || data.Length - used - 4 - keyLength < 4)
            {
                return used;
            }

            var valueAt = used + 4 + keyLength;
            var valueLength = FrameLength(data, valueAt, at, end);
            if (valueLength < 0 || data.Length - valueAt - 4 < valueLength)
            {
                return used;
            }

            visit(data.Slice(used + 4, keyLength), data.Slice(valueAt + 4, valueLength));
            used = valueAt + 4 + valueLength;
        }
    }

    /// <summary>The length prefix at <paramref name="position"/>, or -1 when the data ends before it.</summary>
    private int FrameLength(ReadOnlySpan<byte> data, int position, long at, long end)
    {
        if (data.Length - position < 4)
        {
            return -1;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(data[position..]);
        if (length < 0 || length > end - (at + position + 4))
        {
            throw new TableFileException(TableFileError.Truncated, $"{_path}: an object at byte {at + position + 4} claims {length} bytes that are not there.");
        }

        return length;
    }

    private void ReadExactly(Span<byte> span, long offset)
    {
        while (span.Length > 0)
        {
            var read = RandomAccess.Read(_file, span, offset);
            if (read == 0)
            {
                throw new TableFileException(TableFileError.Truncated, $"{_path} became shorter while it was read.");
            }

            span = span[read..];
            offset += read;
        }
    }
}
