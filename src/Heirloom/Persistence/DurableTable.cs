using System.Diagnostics.CodeAnalysis;
using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// Durable tables: a table whose every acknowledged write is in an append-only journal (per the fsync policy), with
/// snapshots taken in the background, so it survives its owner, its node and the OS process. Opening loads the newest
/// good snapshot and replays the journal after it, truncating a torn tail (an interrupted last write) and refusing a
/// journal damaged before its end.
/// </summary>
public static class DurableTable
{
    /// <summary>
    /// Opens (or creates) the durable table kept in <paramref name="durability"/>'s directory, owned by the calling
    /// process (or the node, outside any process). Deleting the table, or its owner dying with no heir, drops it from
    /// memory and closes its files; they stay, and the next open recovers it.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="node">The node.</param>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="durability">Directory, fsync policy, snapshot threshold, storage (on or off the GC heap).</param>
    /// <param name="keyCodec">How keys are written; default the built-in codec.</param>
    /// <param name="valueCodec">How values are written; default the built-in codec.</param>
    /// <exception cref="JournalCorruptedException">The journal is damaged before its end, or records are missing.</exception>
    /// <exception cref="SnapshotCorruptedException">The only snapshot recovery could use is damaged.</exception>
    /// <exception cref="TableFileException">The directory holds a table of another type or other codecs.</exception>
    /// <exception cref="IOException">Another open table holds the directory.</exception>
    /// <exception cref="DurableDirectoryException">The directory cannot be created or written.</exception>
    /// <exception cref="TableException">The name is taken.</exception>
    public static Table<TKey, TValue> Open<TKey, TValue>(Node node, TableOptions options, DurabilityOptions durability, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(durability);
        keyCodec ??= Codecs.For<TKey>();
        valueCodec ??= Codecs.For<TValue>();
        var directory = durability.Directory;
        var files = durability.FileSystem;
        var header = JournalSegmentHeader.For(options.Type, options.Access, keyCodec, valueCodec);
        var directoryLock = CreateAndLock(directory);
        Journal? journal = null;
        try
        {
            foreach (var temporary in Directory.EnumerateFiles(directory, "*.tmp"))
            {
                files.Delete(temporary); // a snapshot interrupted before its rename
            }

            var upgraded = false;
            JournaledStore<TKey, TValue>? journaled = null;
            var engine = durability.Storage == TableStorage.OffHeap ? OffHeapTable.NewEngine(options.Type, keyCodec, valueCodec, node.Scheduler) : null;
            var table = Table.Create<TKey, TValue>(node, options, null, null, engine: engine, wrap: store =>
            {
                var (sequence, damaged) = LoadNewestGoodSnapshot(store, directory, options.Type, keyCodec, valueCodec, out upgraded);
                try
                {
                    journal = Journal.Open(files, directory, header, sequence, durability.Fsync, (segment, path) => ReplayerFor(store, segment, path, keyCodec, valueCodec, ref upgraded), e => journaled?.OnBackgroundFailure(e), (duration, records) => DurabilityMetrics.Of(node).OnFsync(options.Name, duration, records), node.TimeProvider, node.Scheduler);
                }
                catch (JournalCorruptedException e) when (damaged is not null)
                {
                    throw new SnapshotCorruptedException(damaged.Value.Path, damaged.Value.Error, e);
                }

                return journaled = new JournaledStore<TKey, TValue>(store, options.Type is TableType.Set or TableType.OrderedSet, journal, keyCodec, valueCodec, durability, files, directoryLock, sequence);
            });
            journaled!.Table = table;
            if (upgraded)
            {
                journaled.SnapshotAfterUpgrade();
            }

            return table;
        }
        catch
        {
            journal?.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    /// <summary>Creates the directory if missing and takes its lock; a path that cannot be a directory, or one this
    /// process may not write, fails with the directory's name rather than a bare file system message.</summary>
    private static FileStream CreateAndLock(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DurableDirectoryException(directory, e);
        }

        try
        {
            return DurableFiles.Lock(directory);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DurableDirectoryException(directory, e);
        }
    }

    /// <summary>
    /// Takes a snapshot of a durable table now, without stopping its writers, and compacts the journal; returns the
    /// last journal sequence the snapshot includes. Waits for a snapshot already running, then takes a new one.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="table">A table opened by <see cref="Open{TKey, TValue}"/>.</param>
    /// <param name="cancellation">Stops waiting for a running snapshot.</param>
    /// <exception cref="ArgumentException">The table is not durable.</exception>
    /// <exception cref="TableException">The table was deleted.</exception>
    public static Task<long> SnapshotAsync<TKey, TValue>(Table<TKey, TValue> table, CancellationToken cancellation = default)
        where TKey : notnull => Journaled(table).SnapshotAsync(cancellation);

    /// <summary>Where a durable table's journal and snapshots stand.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="table">A table opened by <see cref="Open{TKey, TValue}"/>.</param>
    /// <exception cref="ArgumentException">The table is not durable.</exception>
    /// <exception cref="TableException">The table was deleted.</exception>
    public static DurableTableStatus GetStatus<TKey, TValue>(Table<TKey, TValue> table)
        where TKey : notnull => Journaled(table).Status();

    /// <summary>
    /// Completes once every write made to the table so far is on disk (fsynced), whatever its fsync policy, starting an
    /// fsync if none covers them yet; at once when they are. With <see cref="DurabilityOptions.WritesWaitForFsync"/>
    /// off, this is how a writer acknowledges: write, then await this before answering. For a replicated table
    /// (<see cref="ReplicatedTable"/>), completes once its replica has committed them.
    /// </summary>
    /// <param name="table">A durable or replicated table.</param>
    /// <exception cref="ArgumentException">The table is neither durable nor replicated.</exception>
    /// <exception cref="TableException">The table was deleted, or its journal (or replica) failed before the writes were
    /// durable (<see cref="TableError.StorageFailed"/>: the table is closed, and those writes were not acknowledged).</exception>
    public static ValueTask WhenDurableAsync(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.ThrowIfDeleted();
        return table.UntypedStore is IAcknowledgedStore durable
            ? durable.WhenDurableAsync()
            : throw new ArgumentException($"{table} is not a durable or replicated table; open it with DurableTable.Open, or promote a ReplicaStandby.", nameof(table));
    }

    /// <summary>Where a table's journal and snapshots stand, if it is a durable table (for health checks and
    /// dashboards that see tables of every type).</summary>
    /// <param name="table">Any table.</param>
    /// <param name="status">The status; null when the table is not durable or was deleted.</param>
    /// <returns>Whether the table is a durable table still open.</returns>
    public static bool TryGetStatus(Table table, [NotNullWhen(true)] out DurableTableStatus? status)
    {
        ArgumentNullException.ThrowIfNull(table);
        status = table.IsDeleted ? null : (table.UntypedStore as IDurableStore)?.Status();
        return status is not null;
    }

    private static JournaledStore<TKey, TValue> Journaled<TKey, TValue>(Table<TKey, TValue> table)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(table);
        table.ThrowIfDeleted();
        return table.Store as JournaledStore<TKey, TValue> ?? throw new ArgumentException($"{table} is not a durable table; open it with DurableTable.Open.", nameof(table));
    }

    /// <summary>
    /// Loads the newest snapshot that reads back whole into the new table's store and returns the last journal sequence
    /// it includes (0 when there is none), and the newest damaged one skipped on the way, if any. A snapshot is loaded
    /// while its checksum is computed on another thread; a damaged one's objects are cleared again and the next older
    /// one is tried. <paramref name="upgraded"/> tells whether the snapshot was read by codecs that upgrade it (an older
    /// version or an alias).
    /// </summary>
    private static (long Sequence, (string Path, TableFileException Error)? Damaged) LoadNewestGoodSnapshot<TKey, TValue>(TableStore<TKey, TValue> store, string directory, TableType type, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, out bool upgraded)
        where TKey : notnull
    {
        (string, TableFileException)? damaged = null;
        var snapshots = DurableFiles.Snapshots(directory);
        for (var i = snapshots.Count - 1; i >= 0; i--)
        {
            var (sequence, path) = snapshots[i];
            using var file = new TableFileReader(path);
            bool intact;
            upgraded = false;
            try
            {
                intact = LoadSnapshot(store, file, path, sequence, type, keyCodec, valueCodec, out upgraded);
            }
            catch (TableFileException) when (!file.IsIntact())
            {
                // What cannot be read in a file that does not match its checksum is damage; in one that does, it is a
                // mistake (wrong types or codecs) and stops here.
                intact = false;
            }

            if (intact)
            {
                return (sequence, damaged);
            }

            store.Clear();
            damaged ??= (path, new TableFileException(TableFileError.ChecksumMismatch, $"{path} does not match its checksum: it is damaged or truncated."));
        }

        upgraded = false;
        return (0, damaged);
    }

    /// <summary>Fills a new store from a snapshot's objects, one at a time, and returns whether the file matched its
    /// checksum: a store that keeps objects encoded takes the codecs' bytes as they are (when they are the current
    /// codecs' bytes), any other gets each object decoded (and upgraded, by readers of an older version).</summary>
    private static bool LoadSnapshot<TKey, TValue>(TableStore<TKey, TValue> store, TableFileReader file, string path, long sequence, TableType type, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, out bool upgraded)
        where TKey : notnull
    {
        var (info, bodyStart) = file.ReadHeader();
        var (keyReader, valueReader) = TableFile.ReadersFor(info, path, keyCodec, valueCodec);
        if (info.Type != type)
        {
            throw new TableFileException(TableFileError.WrongType, $"{path} holds a {info.Type} table; it cannot be opened as {type}.");
        }

        if (info.JournalSequence != sequence)
        {
            throw new TableFileException(TableFileError.BadFile, $"{path} says it includes journal records to {info.JournalSequence}, but its name says {sequence}.");
        }

        upgraded = keyReader != keyCodec || valueReader != valueCodec;
        if (!upgraded && store is IEncodedObjectLoader loader)
        {
            try
            {
                // Each object takes at least its two 4-byte length prefixes, which bounds what a header may ask room for.
                loader.Reserve(Math.Min(info.ObjectCount, file.BodyLength(bodyStart) / 8));
                return file.VisitObjects(bodyStart, loader.LoadEncoded);
            }
            finally
            {
                loader.EndLoading();
            }
        }

        return file.VisitObjects(bodyStart, (key, value) => store.Insert(TableFile.Decode(key, keyReader, path), TableFile.Decode(value, valueReader, path)));
    }

    /// <summary>What replays a journal segment's records: with the table's codecs, or with readers that upgrade an
    /// older version (or an alias), noting in <paramref name="upgraded"/> that the table is to be rewritten; null when
    /// the segment's codecs are not the table's.</summary>
    /// <exception cref="CodecVersionException">The segment holds a version the codecs cannot read.</exception>
    private static JournalRecordHandler? ReplayerFor<TKey, TValue>(TableStore<TKey, TValue> store, JournalSegmentHeader segment, string path, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, ref bool upgraded)
        where TKey : notnull
    {
        if (!CodecResolution.NameMatches(keyCodec, segment.KeyCodec) || !CodecResolution.NameMatches(valueCodec, segment.ValueCodec))
        {
            return null;
        }

        var keyReader = CodecResolution.ReaderFor(keyCodec, segment.KeyCodec, segment.KeyCodecVersion, path);
        var valueReader = CodecResolution.ReaderFor(valueCodec, segment.ValueCodec, segment.ValueCodecVersion, path);
        upgraded |= keyReader != keyCodec || valueReader != valueCodec;
        return (_, _, record) => JournaledStore<TKey, TValue>.Replay(store, record, keyReader, valueReader);
    }
}
