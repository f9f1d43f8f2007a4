using System.Data;
using Heirloom.Persistence;
using Heirloom.Tables;
using Npgsql;

namespace Heirloom.Postgres;

/// <summary>
/// A warm standby of a clustered table: loads the table's rows once, then reads only the rows committed since
/// (<c>sequence</c> greater than the last it applied), on every commit's notification and every
/// <see cref="PostgresClusterOptions.FollowInterval"/>. Commits of a table are serialized and each one's sequences are
/// above every earlier one's, so the rows above the last applied sequence are exactly what changed since; a takeover
/// reads only those, however large the table is.
/// </summary>
internal sealed class TableFollower<TKey, TValue>(PostgresCluster cluster, string table, TableType type, ReadingCodec<TKey> keyCodec, ReadingCodec<TValue> valueCodec)
    where TKey : notnull
{
    public ReplicaStandby<TKey, TValue> Standby { get; private set; } = new(type, keyCodec, valueCodec);

    private long _applied;
    private long _freshAsOf = long.MinValue;

    /// <summary>Every commit up to this sequence is applied. Read by the cluster's periodic check, from another
    /// thread.</summary>
    public long Applied
    {
        get => Volatile.Read(ref _applied);
        private set => Volatile.Write(ref _applied, value);
    }

    /// <summary>
    /// A timestamp of the node's clock (<see cref="TimeProvider.GetTimestamp"/>) before which every commit of the table
    /// is in <see cref="Standby"/>: the start of the last read of the table's rows (a load, a catch-up, or the cluster's
    /// periodic check finding nothing new) whose result is wholly applied. Commits of a table are serialized and each
    /// one's sequences are above every earlier one's, so a read that began at t sees every commit acknowledged before t
    /// among the rows above the last sequence applied. <see cref="long.MinValue"/> until the first load. Read from any
    /// thread; it only moves forward.
    /// </summary>
    public long FreshAsOf => Volatile.Read(ref _freshAsOf);

    /// <summary>The cluster's periodic check, begun at <paramref name="checkedAt"/>, found the table's last committed
    /// sequence at <paramref name="lastSequence"/>: if that is applied, the copy is fresh as of the check's start. May
    /// run on any thread, concurrently with the follower.</summary>
    public void Checked(long lastSequence, long checkedAt)
    {
        if (Applied >= lastSequence)
        {
            Fresh(checkedAt);
        }
    }

    /// <summary>Loads the whole table into a new standby, as of one snapshot.</summary>
    public async Task LoadAsync(CancellationToken cancellation)
    {
        var began = cluster.Time.GetTimestamp();
        var standby = new ReplicaStandby<TKey, TValue>(type, keyCodec, valueCodec);
        await using var connection = await cluster.Source.OpenConnectionAsync(cancellation).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellation).ConfigureAwait(false);
        long applied;
        await using (var last = new NpgsqlCommand($"SELECT last_sequence FROM {cluster.Schema.Tables} WHERE name = $1", connection, transaction))
        {
            last.Parameters.Add(new() { Value = table });
            applied = (long)(await last.ExecuteScalarAsync(cancellation).ConfigureAwait(false) ?? 0L);
        }

        await using (var codecs = new NpgsqlCommand($"SELECT key_codec, value_codec FROM {cluster.Schema.Tables} WHERE name = $1", connection, transaction))
        {
            codecs.Parameters.Add(new() { Value = table });
            await using var reader = await codecs.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                ReadAt(reader.GetString(0), reader.GetString(1));
            }
        }

        await using (var rows = new NpgsqlCommand($"SELECT key, state FROM {cluster.Schema.Rows} WHERE table_name = $1 AND state IS NOT NULL", connection, transaction))
        {
            rows.Parameters.Add(new() { Value = table });
            await using var reader = await rows.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
            {
                standby.Apply(reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<byte[]>(1));
            }
        }

        await transaction.CommitAsync(cancellation).ConfigureAwait(false);
        Standby = standby;
        Applied = applied;
        Fresh(began);
    }

    /// <summary>Applies the rows committed since the last sequence applied; returns how many. A standby promoted
    /// already (the node owned the table, then lost it) is replaced by a whole new load.</summary>
    /// <param name="cancellation">Stops reading.</param>
    /// <param name="lastCommitted">When known, the sequence of the table's last commit (read as its epoch was bumped,
    /// so no commit comes after it): a standby that applied it already reads nothing.</param>
    public async Task<int> CatchUpAsync(CancellationToken cancellation, long? lastCommitted = null)
    {
        if (Standby.IsPromoted)
        {
            await LoadAsync(cancellation).ConfigureAwait(false);
            return (int)Math.Min(Standby.Count, int.MaxValue);
        }

        var began = cluster.Time.GetTimestamp();
        if (Applied >= lastCommitted)
        {
            // Commits become visible in the order of their sequences, so every row up to the last one is applied.
            Fresh(began);
            return 0;
        }

        // The table's codecs come in the same statement, so they are those the rows were written with (an owner that
        // upgrades a table rewrites its rows and its codecs in one transaction).
        await using var command = cluster.Source.CreateCommand(
            $"SELECT r.key, r.state, r.sequence, t.key_codec, t.value_codec FROM {cluster.Schema.Rows} r JOIN {cluster.Schema.Tables} t ON t.name = r.table_name " +
            "WHERE r.table_name = $1 AND r.sequence > $2 ORDER BY r.sequence");
        command.Parameters.Add(new() { Value = table });
        command.Parameters.Add(new() { Value = Applied });
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        var applied = 0;
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            if (applied == 0)
            {
                ReadAt(reader.GetString(3), reader.GetString(4));
            }

            // A row's state is the key's values as the journal record's payload framed them: decoded once, by the core.
            Standby.Apply(reader.GetFieldValue<byte[]>(0), reader.IsDBNull(1) ? [] : reader.GetFieldValue<byte[]>(1));
            Applied = Math.Max(Applied, reader.GetInt64(2));
            applied++;
        }

        Fresh(began);
        return applied;
    }

    /// <summary>Moves <see cref="FreshAsOf"/> forward to <paramref name="timestamp"/>, never back (the periodic check
    /// and the follower may report out of order).</summary>
    private void Fresh(long timestamp)
    {
        var current = Volatile.Read(ref _freshAsOf);
        while (timestamp > current)
        {
            var seen = Interlocked.CompareExchange(ref _freshAsOf, timestamp, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Reads the values of the rows that follow at <paramref name="version"/>: the table's rows were rewritten
    /// at it.</summary>
    public void ReadValuesAt(int version) => valueCodec.ReadingVersion = version;

    /// <summary>Reads the rows that follow at the versions the table records.</summary>
    /// <exception cref="CodecVersionException">This node cannot read them (a newer release upgraded the table).</exception>
    private void ReadAt(string keys, string values)
    {
        keyCodec.ReadingVersion = RecordedCodec.ReadableVersion(keyCodec.Codec, keys, table);
        valueCodec.ReadingVersion = RecordedCodec.ReadableVersion(valueCodec.Codec, values, table);
    }
}
