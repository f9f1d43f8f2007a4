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
/// <remarks>
/// A write is stored as its journal record's payload, as it is (<see cref="JournalRecord.Payload"/>), which the core's
/// decoder reads when it is shipped. Key -1 holds the spool's format: <see cref="Format"/> (2). A spool without it was
/// written by the first format, which encoded the record's entries itself; its writes are still read (and shipped or
/// discarded as usual at the next takeover, after which the spool is marked with the current format). A format this
/// release does not know (a newer release wrote it) is refused with <see cref="InvalidDataException"/> saying so,
/// before anything is shipped or discarded.
/// </remarks>
internal sealed class ShippingSpool : IDisposable
{
    /// <summary>The format this release writes: each write as its journal record's payload.</summary>
    public const byte Format = 2;
    private const byte FirstFormat = 1;
    private const long FormatKey = -1;
    private const long EpochKey = 0;
    private readonly Table<long, byte[]> _table;
    private readonly string _name;
    private byte _format;

    private ShippingSpool(Table<long, byte[]> table, string name)
    {
        _table = table;
        _name = name;
        _format = table.Lookup(FormatKey) is [[var format]] ? format : table.Count == 0 ? Format : FirstFormat;
        if (_format > Format)
        {
            throw new InvalidDataException(
                $"The local journal of clustered table '{name}' is in spool format {_format}, written by a newer release; this release reads formats {FirstFormat} and {Format}. " +
                "Run the newer release on this node to ship the writes it holds, or remove the directory to discard them.");
        }

        if (_format == Format)
        {
            _table.Insert(FormatKey, [Format]);
        }
    }

    /// <summary>The epoch the writes in it were made at; null for a new spool.</summary>
    public long? Epoch => _table.Lookup(EpochKey) is [var epoch] ? BinaryPrimitives.ReadInt64LittleEndian(epoch) : null;

    /// <exception cref="InvalidDataException">The spool was written in a format this release does not read.</exception>
    public static ShippingSpool Open(Node node, string table, DurabilityOptions durability)
    {
        var spool = DurableTable.Open<long, byte[]>(node, new TableOptions
        {
            Name = $"heirloom.spool.{table}",
            Type = TableType.OrderedSet,
            Access = TableAccess.Public,
        }, durability with { Fsync = FsyncPolicy.Always, WritesWaitForFsync = false });
        try
        {
            return new ShippingSpool(spool, table);
        }
        catch
        {
            spool.Delete();
            throw;
        }
    }

    public void SetEpoch(long epoch)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, epoch);
        _table.Insert(EpochKey, bytes);
    }

    /// <summary>Adds a write, its payload as it is; it is on disk once <see cref="WhenDurableAsync"/> completes.</summary>
    public void Add(JournalRecord record)
    {
        if (_format != Format)
        {
            // Writes of the first format wait to be shipped or discarded at the takeover, before any new write.
            throw new InvalidOperationException($"The local journal of clustered table '{_name}' holds writes of spool format {_format}; they are shipped or discarded before new writes are added.");
        }

        _table.Insert(record.Sequence, record.Payload.IsEmpty ? throw new ArgumentException("A write is spooled as its journal record's payload; this record has none.", nameof(record)) : record.Payload.ToArray());
    }

    public ValueTask WhenDurableAsync() => DurableTable.WhenDurableAsync(_table);

    /// <summary>The writes up to <paramref name="sequence"/> are in PostgreSQL.</summary>
    public void Shipped(long sequence) => _table.SelectDelete((key, _) => key > EpochKey && key <= sequence);

    /// <summary>The writes not shipped yet, in order.</summary>
    public List<JournalRecord> Pending() =>
        [.. _table.Select((key, _) => key > EpochKey, (key, value) => _format == Format ? JournalRecord.FromPayload(key, value) : DecodeFirstFormat(key, value))];

    /// <summary>Every write goes; from now the spool holds writes in the current format.</summary>
    public void Discard()
    {
        Shipped(long.MaxValue);
        _format = Format;
        _table.Insert(FormatKey, [Format]);
    }

    public void Dispose() => _table.Delete();

    /// <summary>A write as the first spool format stored it: its entries' count, then each key (its length, -1 for the
    /// table emptied, and its bytes), its values' count and each value (its length and its bytes), lengths as 4 bytes
    /// little-endian.</summary>
    private static JournalRecord DecodeFirstFormat(long sequence, byte[] bytes)
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
