using System.Buffers.Binary;
using Heirloom.Persistence;
using Heirloom.Processes;
using Heirloom.Tables;

namespace Heirloom.Postgres;

/// <summary>
/// The local journal of a clustered table whose writes are acknowledged before PostgreSQL has them: a durable table
/// (fsync Always, group commit) holding every write not yet shipped, by sequence, and under key 0 the epoch they were
/// written at. Shipped writes are deleted from it. When this node takes the table again at the next epoch (nobody else
/// owned it in between), what is left is shipped first; otherwise it is discarded, which is the loss the option's bound
/// states.
/// </summary>
internal sealed class ShippingSpool : IDisposable
{
    private const long EpochKey = 0;
    private readonly Table<long, byte[]> _table;

    private ShippingSpool(Table<long, byte[]> table)
    {
        _table = table;
    }

    /// <summary>The epoch the writes in it were made at; null for a new spool.</summary>
    public long? Epoch => _table.Lookup(EpochKey) is [var epoch] ? BinaryPrimitives.ReadInt64LittleEndian(epoch) : null;

    public static ShippingSpool Open(Node node, string table, DurabilityOptions durability) =>
        new(DurableTable.Open<long, byte[]>(node, new TableOptions
        {
            Name = $"heirloom.spool.{table}",
            Type = TableType.OrderedSet,
            Access = TableAccess.Public,
        }, durability with { Fsync = FsyncPolicy.Always, WritesWaitForFsync = false }));

    public void SetEpoch(long epoch)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, epoch);
        _table.Insert(EpochKey, bytes);
    }

    /// <summary>Adds a write; it is on disk once <see cref="WhenDurableAsync"/> completes.</summary>
    public void Add(JournalRecord record) => _table.Insert(record.Sequence, Encode(record));

    public ValueTask WhenDurableAsync() => DurableTable.WhenDurableAsync(_table);

    /// <summary>The writes up to <paramref name="sequence"/> are in PostgreSQL.</summary>
    public void Shipped(long sequence) => _table.SelectDelete((key, _) => key != EpochKey && key <= sequence);

    /// <summary>The writes not shipped yet, in order.</summary>
    public List<JournalRecord> Pending() =>
        [.. _table.Select((key, _) => key != EpochKey, (key, value) => Decode(key, value))];

    public void Discard() => Shipped(long.MaxValue);

    public void Dispose() => _table.Delete();

    private static byte[] Encode(JournalRecord record)
    {
        var length = 4;
        foreach (var entry in record.Entries)
        {
            length += 8 + (entry.Key?.Length ?? 0) + entry.Values.Sum(v => 4 + v.Length);
        }

        var bytes = new byte[length];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, record.Entries.Count);
        span = span[4..];
        foreach (var entry in record.Entries)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span, entry.Key?.Length ?? -1);
            entry.Key.CopyTo(span[4..]);
            span = span[(4 + (entry.Key?.Length ?? 0))..];
            BinaryPrimitives.WriteInt32LittleEndian(span, entry.Values.Count);
            span = span[4..];
            foreach (var value in entry.Values)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span, value.Length);
                value.CopyTo(span[4..]);
                span = span[(4 + value.Length)..];
            }
        }

        return bytes;
    }

    private static JournalRecord Decode(long sequence, byte[] bytes)
    {
        ReadOnlySpan<byte> span = bytes;
        var count = BinaryPrimitives.ReadInt32LittleEndian(span);
        span = span[4..];
        var entries = new List<JournalEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var keyLength = BinaryPrimitives.ReadInt32LittleEndian(span);
            var key = keyLength < 0 ? null : span.Slice(4, keyLength).ToArray();
            span = span[(4 + Math.Max(keyLength, 0))..];
            var values = new List<byte[]>(BinaryPrimitives.ReadInt32LittleEndian(span));
            span = span[4..];
            for (var v = values.Capacity; v > 0; v--)
            {
                var valueLength = BinaryPrimitives.ReadInt32LittleEndian(span);
                values.Add(span.Slice(4, valueLength).ToArray());
                span = span[(4 + valueLength)..];
            }

            entries.Add(new JournalEntry(key, values));
        }

        return new JournalRecord(sequence, bytes.Length, entries.Count > 1, entries);
    }
}
