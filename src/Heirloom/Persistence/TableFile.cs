using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>
/// Table files, as ETS's <c>tab2file</c>, <c>file2tab</c> and <c>tabfile_info</c>. A file is a header (magic, format
/// version, type, access, name, object count, for a snapshot the last journal record it includes, codec names), the objects (length-prefixed key and value), and the
/// SHA-256 of all that. Saving takes a consistent snapshot (an isolated read of the whole table) and writes a
/// temporary file that is flushed to disk and renamed over the target, so a crash never leaves a half-written file.
/// Loading reads and verifies everything before it creates the table, so a failed load leaves no table behind.
/// </summary>
public static class TableFile
{
    /// <summary>The format version written.</summary>
    public const int Version = 1;

    /// <summary>The bytes every table file starts with.</summary>
    internal static ReadOnlySpan<byte> Magic => "HEIRLOOM"u8;
    private const int ChecksumLength = 32;

    /// <summary>Saves a table (the caller needs read access).</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="table">The table.</param>
    /// <param name="path">The file to write; replaced atomically.</param>
    /// <param name="keyCodec">How keys are written; default the built-in codec.</param>
    /// <param name="valueCodec">How values are written; default the built-in codec.</param>
    /// <exception cref="IOException">The file could not be written (a full disk, say); the file at
    /// <paramref name="path"/> is as it was before, and no temporary file is left.</exception>
    public static Task SaveAsync<TKey, TValue>(Table<TKey, TValue> table, string path, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentException.ThrowIfNullOrEmpty(path);
        keyCodec ??= Codecs.For<TKey>();
        valueCodec ??= Codecs.For<TValue>();
        var files = DurableFileSystem.Real;
        var (type, access, name, objects) = (table.Type, table.Access, table.Name, table.SnapshotObjects());
        return table.Node.Scheduler.Run(() => Write(files, path, type, access, name, 0, objects, keyCodec, valueCodec, beforeRename: null, files.SyncDirectory, CancellationToken.None));
    }

    /// <summary>
    /// Writes objects to a temporary file, fsyncs it, runs <paramref name="beforeRename"/>, renames it over
    /// <paramref name="path"/> and syncs the directory. <paramref name="journalSequence"/> is, for a durable table's
    /// snapshot, the last journal record the objects include (0 for a plain save). The objects are counted as written, so
    /// they may come from a live enumeration. A failure before the rename deletes the temporary file and leaves
    /// <paramref name="path"/> as it was.
    /// </summary>
    internal static void Write<TKey, TValue>(DurableFileSystem files, string path, TableType type, TableAccess access, string? name, long journalSequence, IEnumerable<KeyValuePair<TKey, TValue>> objects, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, Func<bool>? beforeRename, Action<string> syncDirectory, CancellationToken cancellation)
    {
        var body = new ArrayBufferWriter<byte>();
        var scratch = new ArrayBufferWriter<byte>();
        long count = 0;
        foreach (var (key, value) in objects)
        {
            AppendFramed(body, scratch, writer => keyCodec.Write(writer, key));
            AppendFramed(body, scratch, writer => valueCodec.Write(writer, value));
            if ((++count & 0xFFF) == 0)
            {
                cancellation.ThrowIfCancellationRequested();
            }
        }

        var header = new ArrayBufferWriter<byte>();
        header.Write(Magic);
        WriteInt32(header, Version);
        header.Write([(byte)type, (byte)access]);
        WriteString(header, name);
        WriteInt64(header, count);
        WriteInt64(header, journalSequence);
        WriteString(header, CodecIdentity.Of(keyCodec));
        WriteString(header, CodecIdentity.Of(valueCodec));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header.WrittenSpan);
        hash.AppendData(body.WrittenSpan);

        var temporary = path + ".tmp";
        try
        {
            using (var file = files.Create(temporary))
            {
                files.Write(file, temporary, header.WrittenSpan, 0);
                files.Write(file, temporary, body.WrittenSpan, header.WrittenCount);
                files.Write(file, temporary, hash.GetHashAndReset(), header.WrittenCount + body.WrittenCount);
                files.FlushToDisk(file, temporary);
            }

            if (beforeRename is not null && !beforeRename())
            {
                files.Delete(temporary);
                return;
            }

            files.Move(temporary, path);
        }
        catch
        {
            DeleteQuietly(files, temporary);
            throw;
        }

        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory)
        {
            syncDirectory(directory);
        }
    }

    private static void DeleteQuietly(DurableFileSystem files, string path)
    {
        try
        {
            files.Delete(path);
        }
        catch (IOException)
        {
            // Left for the next open of the directory, which deletes temporary files.
        }
    }

    /// <summary>Reads a file's header and checksum without loading it.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="TableFileException">Not a table file, truncated, or an unknown version.</exception>
    public static async Task<TableFileInfo> ReadInfoAsync(string path)
    {
        return ReadInfo(await File.ReadAllBytesAsync(path).ConfigureAwait(false), path);
    }

    /// <summary>Reads a file's header and checksum without loading it.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="TableFileException">Not a table file, truncated, or an unknown version.</exception>
    public static TableFileInfo ReadInfo(string path) => ReadInfo(File.ReadAllBytes(path), path);

    /// <summary>Whether a file starts as a table file (or snapshot) does, whatever state the rest is in.</summary>
    /// <param name="path">The file.</param>
    public static bool StartsAsTableFile(string path)
    {
        Span<byte> start = stackalloc byte[Magic.Length];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(Magic);
    }

    /// <summary>Whether a file's contents match the checksum at its end: one that does is as it was written.</summary>
    /// <param name="path">The file.</param>
    public static bool IsIntact(string path) => IsIntact(File.ReadAllBytes(path));

    /// <summary>
    /// Reads and checks a whole file without its types: each object's key and value as their codec's bytes, with the
    /// codec names the header gives. For tools that inspect or dump any table file or snapshot.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="TableFileException">What is wrong with the file: bad or truncated, unknown version, checksum or count mismatch.</exception>
    public static TableFileContents ReadRaw(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var header = ReadInfo(bytes, path);
        var (info, objects) = Read(bytes, path, new RawCodec(header.KeyCodec, header.KeyCodecVersion), new RawCodec(header.ValueCodec, header.ValueCodecVersion), verify: true);
        return new TableFileContents(info, objects);
    }

    /// <summary>Parses a file's header from its bytes.</summary>
    /// <exception cref="TableFileException">Not a table file, truncated, or an unknown version.</exception>
    internal static TableFileInfo ReadInfo(byte[] bytes, string path) => ParseHeader(bytes, path).Info;

    /// <summary>
    /// Loads a table file into a new table owned by the calling process (or the node, outside any process). The heir
    /// is not restored, as in ETS. With <paramref name="verify"/>, the checksum and the object count are checked.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="node">The node to create the table on.</param>
    /// <param name="path">The file.</param>
    /// <param name="keyCodec">How keys were written; default the built-in codec.</param>
    /// <param name="valueCodec">How values were written; default the built-in codec.</param>
    /// <param name="verify">Check the checksum and the count (default true).</param>
    /// <exception cref="TableFileException">Bad or truncated file, unknown version, wrong codec, checksum or count
    /// mismatch, or a name already taken; no table is created.</exception>
    public static async Task<Table<TKey, TValue>> LoadAsync<TKey, TValue>(Node node, string path, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null, bool verify = true)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(node);
        keyCodec ??= Codecs.For<TKey>();
        valueCodec ??= Codecs.For<TValue>();
        var (info, objects) = Read(await File.ReadAllBytesAsync(path).ConfigureAwait(false), path, keyCodec, valueCodec, verify);
        Table<TKey, TValue> table;
        try
        {
            table = Table.New<TKey, TValue>(node, new TableOptions { Type = info.Type, Access = info.Access, Name = info.Name });
        }
        catch (TableException e) when (e.Error == TableError.AlreadyExists)
        {
            throw new TableFileException(TableFileError.CannotCreateTable, $"Cannot load {path}: {e.Message}", e);
        }

        table.InsertInOrder(objects);
        return table;
    }

    /// <summary>Whether a file's bytes match the checksum at its end: a file that does is as it was written, so any
    /// other complaint about it is not damage.</summary>
    internal static bool IsIntact(byte[] bytes) =>
        bytes.Length >= ChecksumLength && SHA256.HashData(bytes.AsSpan(0, bytes.Length - ChecksumLength)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - ChecksumLength));

    /// <summary>Parses and (with <paramref name="verify"/>) checks a whole file's bytes.</summary>
    /// <exception cref="TableFileException">What is wrong with the file.</exception>
    internal static (TableFileInfo Info, List<KeyValuePair<TKey, TValue>> Objects) Read<TKey, TValue>(byte[] bytes, string path, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, bool verify)
    {
        var (info, body, keyReader, valueReader) = ReadBody(bytes, path, keyCodec, valueCodec, verify);
        var objects = new List<KeyValuePair<TKey, TValue>>();
        ForEachObject(body.Span, path, (key, value) => objects.Add(new(Decode(key, keyReader, path), Decode(value, valueReader, path))));
        if (verify && objects.Count != info.ObjectCount)
        {
            throw new TableFileException(TableFileError.InvalidObjectCount, $"{path} holds {objects.Count} objects but its header says {info.ObjectCount}.");
        }

        return (info, objects);
    }

    /// <summary>The header and where the objects lie in a file's bytes, checked against the codecs' names and versions
    /// and (with <paramref name="verify"/>) the checksum, with the codecs that read its keys and values: the codecs
    /// given, or readers that upgrade what the file holds to their current version (an older version or an alias).</summary>
    /// <exception cref="TableFileException">What is wrong with the file; a <see cref="CodecVersionException"/> when it
    /// holds a codec version the codecs cannot read.</exception>
    internal static (TableFileInfo Info, Memory<byte> Body, ICodec<TKey> KeyReader, ICodec<TValue> ValueReader) ReadBody<TKey, TValue>(byte[] bytes, string path, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, bool verify)
    {
        var (info, bodyStart) = ParseHeader(bytes, path);
        var (keyReader, valueReader) = ReadersFor(info, path, keyCodec, valueCodec);
        if (verify && !IsIntact(bytes))
        {
            throw new TableFileException(TableFileError.ChecksumMismatch, $"{path}: the contents do not match the file's checksum; the file is corrupt.");
        }

        return (info, bytes.AsMemory(bodyStart, bytes.Length - ChecksumLength - bodyStart), keyReader, valueReader);
    }

    /// <summary>The codecs that read a file's keys and values: the codecs given, or readers that upgrade an older
    /// version (or an alias) to their current one.</summary>
    /// <exception cref="TableFileException">The file was written with other codecs, or a version they cannot read.</exception>
    internal static (ICodec<TKey> KeyReader, ICodec<TValue> ValueReader) ReadersFor<TKey, TValue>(TableFileInfo info, string path, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec)
    {
        if (!CodecResolution.NameMatches(keyCodec, info.KeyCodec) || !CodecResolution.NameMatches(valueCodec, info.ValueCodec))
        {
            throw new TableFileException(TableFileError.WrongCodec, $"{path} was written with codecs {info.Codecs}, not {CodecIdentity.Of(keyCodec)}/{CodecIdentity.Of(valueCodec)}.{CodecResolution.RenameHint(info.ValueCodec, valueCodec.Name)}");
        }

        return (CodecResolution.ReaderFor(keyCodec, info.KeyCodec, info.KeyCodecVersion, path), CodecResolution.ReaderFor(valueCodec, info.ValueCodec, info.ValueCodecVersion, path));
    }

    /// <summary>Hands each object's key and value bytes, as their codecs wrote them, to <paramref name="visit"/>, in
    /// file order; returns how many there were. Nothing is decoded or copied.</summary>
    /// <exception cref="TableFileException">The objects end inside one (a truncated or damaged file).</exception>
    internal static long ForEachObject(ReadOnlySpan<byte> body, string path, EncodedObjectVisitor visit)
    {
        long count = 0;
        var position = 0;
        while (position < body.Length)
        {
            var key = Frame(body, ref position, path);
            var value = Frame(body, ref position, path);
            visit(key, value);
            count++;
        }

        return count;
    }

    /// <summary>Parses a header from a file's bytes, or from its first bytes followed by its last 32 (the checksum).</summary>
    internal static (TableFileInfo Info, int BodyStart) ParseHeader(byte[] bytes, string path)
    {
        var reader = new Reader(bytes, path);
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new TableFileException(TableFileError.BadFile, $"{path} is not a Heirloom table file (no HEIRLOOM magic).");
        }

        reader.Skip(Magic.Length);
        var version = reader.Int32();
        if (version != Version)
        {
            throw new TableFileException(TableFileError.UnknownVersion, $"{path} has format version {version}; this Heirloom reads version {Version}.");
        }

        var type = reader.Byte();
        var access = reader.Byte();
        if (!Enum.IsDefined((TableType)type) || !Enum.IsDefined((TableAccess)access))
        {
            throw new TableFileException(TableFileError.BadFile, $"{path} has an unknown table type ({type}) or access ({access}).");
        }

        var name = reader.String();
        var count = reader.Int64();
        var journalSequence = reader.Int64();
        if (count < 0 || journalSequence < 0)
        {
            throw new TableFileException(TableFileError.BadFile, $"{path} has a negative object count or journal sequence.");
        }

        var keyCodec = reader.String() ?? throw new TableFileException(TableFileError.BadFile, $"{path} names no key codec.");
        var valueCodec = reader.String() ?? throw new TableFileException(TableFileError.BadFile, $"{path} names no value codec.");
        if (bytes.Length - reader.Position < ChecksumLength)
        {
            throw new TableFileException(TableFileError.Truncated, $"{path} ends before its checksum: the file is truncated.");
        }

        var checksum = Convert.ToHexString(bytes.AsSpan(bytes.Length - ChecksumLength));
        var (keyName, keyVersion) = CodecIdentity.Parse(keyCodec);
        var (valueName, valueVersion) = CodecIdentity.Parse(valueCodec);
        return (new TableFileInfo(version, (TableType)type, (TableAccess)access, name, count, journalSequence, keyName, valueName, checksum) { KeyCodecVersion = keyVersion, ValueCodecVersion = valueVersion }, reader.Position);
    }

    private static ReadOnlySpan<byte> Frame(ReadOnlySpan<byte> body, ref int position, string path)
    {
        if (body.Length - position < 4)
        {
            throw new TableFileException(TableFileError.Truncated, $"{path} ends inside an object at byte {position}.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(body[position..]);
        position += 4;
        if (length < 0 || length > body.Length - position)
        {
            throw new TableFileException(TableFileError.Truncated, $"{path}: an object at byte {position} claims {length} bytes that are not there.");
        }

        var frame = body.Slice(position, length);
        position += length;
        return frame;
    }

    /// <summary>Decodes one key or value, turning a codec's complaint into a clear file error.</summary>
    /// <exception cref="TableFileException">The codec cannot read the bytes.</exception>
    internal static T Decode<T>(ReadOnlySpan<byte> data, ICodec<T> codec, string path)
    {
        try
        {
            return codec.Read(data);
        }
        catch (Exception e) when (e is not TableFileException)
        {
            throw new TableFileException(TableFileError.BadFile, $"{path}: the {codec.Name} codec cannot read an object: {e.Message}", e);
        }
    }

    private static void AppendFramed(ArrayBufferWriter<byte> body, ArrayBufferWriter<byte> scratch, Action<IBufferWriter<byte>> write)
    {
        scratch.ResetWrittenCount();
        write(scratch);
        WriteInt32(body, scratch.WrittenCount);
        body.Write(scratch.WrittenSpan);
    }

    private static void WriteInt32(IBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    private static void WriteInt64(IBufferWriter<byte> writer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(writer.GetSpan(8), value);
        writer.Advance(8);
    }

    private static void WriteString(IBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            WriteInt32(writer, -1);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInt32(writer, bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Reads the header, turning every overrun into a clear truncation error.</summary>
    private ref struct Reader(byte[] bytes, string path)
    {
        public int Position { get; private set; }

        public void Skip(int count) => Take(count);

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public string? String()
        {
            var length = Int32();
            if (length < -1)
            {
                throw new TableFileException(TableFileError.BadFile, $"{path} has a string of length {length} in its header.");
            }

            return length == -1 ? null : Encoding.UTF8.GetString(Take(length));
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > bytes.Length - Position)
            {
                throw new TableFileException(TableFileError.Truncated, $"{path} ends inside its header: the file is truncated.");
            }

            var span = bytes.AsSpan(Position, count);
            Position += count;
            return span;
        }
    }
}
