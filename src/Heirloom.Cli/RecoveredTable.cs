using Heirloom.Persistence;

namespace Heirloom.Cli;

/// <summary>
/// A durable table's directory read back as opening it would, without its types: the newest whole snapshot, then the
/// journal records after it, each key's values kept as their codecs' bytes. Keys keep the order they were first seen
/// in (the snapshot's, then the journal's). Values are as stored: a dump does not run upgrade steps, so
/// <see cref="Codecs"/> lists every codec (and version) the objects were read under.
/// </summary>
internal sealed class RecoveredTable
{
    private readonly OrderedDictionary<string, (byte[] Key, List<byte[]> Values)> _objects = new(StringComparer.Ordinal);

    private RecoveredTable()
    {
    }

    /// <summary>The key and value codecs of the files read, as recorded (key/value, with <c>@v</c> and the version above 1).</summary>
    public SortedSet<string> Codecs { get; } = new(StringComparer.Ordinal);

    /// <summary>Every object, a key once per value (a bag's key several times).</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> Objects => _objects.Values.SelectMany(o => o.Values.Select(v => (o.Key, v)));

    /// <summary>The codec names (without versions) to show keys and values with: the newest file's.</summary>
    public (string Key, string Value) Shown { get; private set; } = ("bytes", "bytes");

    /// <summary>Reads the directory as opening it would.</summary>
    /// <exception cref="TableFileException">No snapshot is whole though one is needed, or one cannot be read.</exception>
    /// <exception cref="JournalCorruptedException">A segment read is damaged, or records are missing.</exception>
    public static RecoveredTable Read(string directory)
    {
        var table = new RecoveredTable();
        long from = 0;
        foreach (var (sequence, path) in DurableDirectory.Snapshots(directory).Reverse())
        {
            if (!TableFile.IsIntact(path))
            {
                continue;
            }

            var (info, objects) = TableFile.ReadRaw(path);
            table.Note(info.Codecs, info.KeyCodec, info.ValueCodec);
            foreach (var (key, value) in objects)
            {
                table.Slot(key).Values.Add(value);
            }

            from = sequence;
            break;
        }

        var segments = DurableDirectory.Segments(directory);
        var last = from;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            if (i + 1 < segments.Count && segments[i + 1].FirstSequence <= from + 1)
            {
                continue; // wholly in the snapshot: opening skips it too
            }

            if (first > last + 1)
            {
                throw new JournalCorruptedException(path, 0, $"records {last + 1} to {first - 1} are in no whole snapshot and no segment");
            }

            var scan = JournalReader.Read(path, allowTornTail: i == segments.Count - 1, record =>
            {
                if (record.Sequence > from)
                {
                    table.Apply(record);
                }
            });
            if (scan.Header is { } header)
            {
                table.Note(header.Codecs, header.KeyCodec, header.ValueCodec);
            }

            last = Math.Max(last, scan.LastSequence);
        }

        return table;
    }

    private void Note(string codecs, string key, string value)
    {
        Codecs.Add(codecs);
        Shown = (key, value);
    }

    private (byte[] Key, List<byte[]> Values) Slot(byte[] key)
    {
        var id = Convert.ToHexString(key);
        if (!_objects.TryGetValue(id, out var slot))
        {
            slot = (key, []);
            _objects.Add(id, slot);
        }

        return slot;
    }

    /// <summary>A record sets each key it names to exactly the values it lists (none: the key is gone), or empties the table.</summary>
    private void Apply(JournalRecord record)
    {
        foreach (var entry in record.Entries)
        {
            if (entry.Key is null)
            {
                _objects.Clear();
                continue;
            }

            if (entry.Values.Count == 0)
            {
                _objects.Remove(Convert.ToHexString(entry.Key));
                continue;
            }

            var slot = Slot(entry.Key);
            slot.Values.Clear();
            slot.Values.AddRange(entry.Values);
        }
    }
}
