using System.Buffers;
using System.Text;
using System.Text.Json;
using Heirloom.Persistence;

namespace Heirloom.Cli;

/// <summary>
/// What the heirloom commands do with a path: a table file or snapshot (HEIRLOOM magic), a journal segment
/// (journal-&lt;first sequence&gt;.log), or a durable table's directory. Results go to <paramref name="output"/>,
/// problems to <paramref name="error"/>. Exit codes: 0 whole, 1 damaged, 2 unusable input.
/// </summary>
internal sealed class Inspector(TextWriter output, TextWriter error)
{
    private readonly ArrayBufferWriter<byte> _line = new();

    private enum Kind
    {
        TableFile,
        Segment,
        Directory,
    }

    public int Info(string path) => Guard(path, kind => kind switch
    {
        Kind.TableFile => TableFileInfo(path),
        Kind.Segment => SegmentInfo(path),
        _ => DirectoryReport(path),
    });

    public int Verify(string path) => Guard(path, kind => kind switch
    {
        Kind.TableFile => VerifyTableFile(path),
        Kind.Segment => VerifySegment(path),
        _ => DirectoryReport(path),
    });

    public int Dump(string path, string? keyCodec, string? valueCodec) => Guard(path, kind => kind switch
    {
        Kind.TableFile => DumpTableFile(path),
        Kind.Segment => DumpSegment(path, keyCodec, valueCodec),
        _ => Usage($"{path} is a directory; dump takes one of its files (heirloom info '{path}' lists them)."),
    });

    private int Guard(string path, Func<Kind, int> command)
    {
        try
        {
            return command(Detect(path));
        }
        catch (Exception e) when (e is TableFileException or JournalCorruptedException or InvalidDataException)
        {
            error.WriteLine($"heirloom: damaged: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or ArgumentException)
        {
            return Usage(e.Message);
        }
    }

    private int Usage(string message)
    {
        error.WriteLine($"heirloom: {message}");
        return 2;
    }

    private static Kind Detect(string path)
    {
        if (Directory.Exists(path))
        {
            return Kind.Directory;
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist.");
        }

        // A file named as a table file whose magic is damaged is a damaged table file, not a stranger.
        if (TableFile.StartsAsTableFile(path) || path.EndsWith(".htab", StringComparison.Ordinal))
        {
            return Kind.TableFile;
        }

        return JournalReader.TryGetFirstSequence(path, out _)
            ? Kind.Segment
            : throw new ArgumentException($"{path} is neither a table file or snapshot (it does not start with HEIRLOOM) nor a journal segment (named journal-<first sequence>.log).");
    }

    private int TableFileInfo(string path)
    {
        var info = TableFile.ReadInfo(path);
        WriteLine(json =>
        {
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteString("kind", info.JournalSequence > 0 || DurableDirectory.IsSnapshotName(path) ? "snapshot" : "table file");
            json.WriteNumber("version", info.Version);
            json.WriteString("type", info.Type.ToString());
            json.WriteString("access", info.Access.ToString());
            json.WriteString("name", info.Name);
            json.WriteNumber("objects", info.ObjectCount);
            json.WriteNumber("journalSequence", info.JournalSequence);
            json.WriteString("keyCodec", info.KeyCodec);
            json.WriteString("valueCodec", info.ValueCodec);
            json.WriteString("checksum", info.Checksum);
            json.WriteNumber("bytes", new FileInfo(path).Length);
            json.WriteEndObject();
        });
        return 0;
    }

    private int VerifyTableFile(string path)
    {
        var (info, objects) = TableFile.ReadRaw(path);
        output.WriteLine($"{path}: ok, {objects.Count:N0} objects, checksum {info.Checksum[..16].ToLowerInvariant()}… matches");
        return 0;
    }

    private int DumpTableFile(string path)
    {
        var (info, objects) = TableFile.ReadRaw(path);
        var progress = new Progress("dump", new FileInfo(path).Length);
        long written = 0;
        foreach (var (key, value) in objects)
        {
            WriteLine(json =>
            {
                json.WriteStartObject();
                json.WritePropertyName("key");
                ValueWriter.Write(json, info.KeyCodec, key);
                json.WritePropertyName("value");
                ValueWriter.Write(json, info.ValueCodec, value);
                json.WriteEndObject();
            });
            written += key.Length + value.Length + 8;
            progress.Report(written);
        }

        return 0;
    }

    private int SegmentInfo(string path)
    {
        var scan = ReadSegment(path, "info", _ => { });
        WriteLine(json =>
        {
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteString("kind", "journal segment");
            json.WriteNumber("firstSequence", scan.FirstSequence);
            json.WriteNumber("records", scan.Records);
            json.WriteNumber("lastSequence", scan.LastSequence);
            json.WriteNumber("bytes", new FileInfo(path).Length);
            json.WriteNumber("tornBytes", scan.TornBytes);
            json.WriteEndObject();
        });
        return 0;
    }

    private int VerifySegment(string path)
    {
        var scan = ReadSegment(path, "verify", _ => { });
        output.WriteLine($"{path}: ok, records {scan.FirstSequence:N0} to {scan.LastSequence:N0}" +
            (scan.TornBytes > 0 ? $"; a torn last write of {scan.TornBytes} bytes follows them (cut off when the table opens)" : ""));
        return 0;
    }

    private int DumpSegment(string path, string? keyCodec, string? valueCodec)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (keyCodec is null || valueCodec is null)
        {
            var known = CodecsFromSnapshots(directory);
            keyCodec ??= known?.Key;
            valueCodec ??= known?.Value;
        }

        ReadSegment(path, "dump", record =>
        {
            foreach (var entry in record.Entries)
            {
                WriteLine(json =>
                {
                    json.WriteStartObject();
                    json.WriteNumber("sequence", record.Sequence);
                    if (record.IsBatch)
                    {
                        json.WriteBoolean("batch", true);
                    }

                    if (entry.Key is null)
                    {
                        json.WriteBoolean("cleared", true);
                    }
                    else
                    {
                        json.WritePropertyName("key");
                        ValueWriter.Write(json, keyCodec, entry.Key);
                        json.WriteStartArray("values");
                        foreach (var value in entry.Values)
                        {
                            ValueWriter.Write(json, valueCodec, value);
                        }

                        json.WriteEndArray();
                    }

                    json.WriteEndObject();
                });
            }
        });
        return 0;
    }

    private static JournalSegmentSummary ReadSegment(string path, string what, Action<JournalRecord> onRecord)
    {
        var progress = new Progress(what, new FileInfo(path).Length);
        long read = 0;
        return JournalReader.Read(path, allowTornTail: true, record =>
        {
            onRecord(record);
            read += record.Bytes;
            progress.Report(read);
        });
    }

    /// <summary>Describes a durable table's directory: its snapshots, its segments, and what opening it would do.</summary>
    private int DirectoryReport(string directory)
    {
        var damaged = new List<string>();
        long? recoverFrom = null;
        foreach (var (sequence, path) in DurableDirectory.Snapshots(directory).Reverse())
        {
            var intact = TableFile.IsIntact(path);
            if (!intact)
            {
                damaged.Add(path);
            }
            else
            {
                recoverFrom ??= sequence;
            }

            output.WriteLine($"{Path.GetFileName(path)}: snapshot to record {sequence:N0}, {new FileInfo(path).Length:N0} bytes, {(intact ? "whole" : "DAMAGED (checksum mismatch)")}");
        }

        var segments = DurableDirectory.Segments(directory);
        long last = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            try
            {
                var scan = JournalReader.Read(path, allowTornTail: i == segments.Count - 1);
                var gap = i > 0 && first != last + 1 ? $", but record {last + 1:N0} was due: records are missing" : "";
                if (gap.Length > 0)
                {
                    damaged.Add(path);
                }

                last = first + scan.Records - 1;
                output.WriteLine($"{Path.GetFileName(path)}: records {first:N0} to {last:N0}, {new FileInfo(path).Length:N0} bytes{(scan.TornBytes > 0 ? $", torn last write of {scan.TornBytes} bytes" : "")}{gap}");
            }
            catch (Exception e) when (e is JournalCorruptedException or InvalidDataException)
            {
                damaged.Add(path);
                output.WriteLine($"{Path.GetFileName(path)}: DAMAGED: {e.Message}");
            }
        }

        var from = recoverFrom ?? 0;
        var reaches = segments.Count == 0 || segments.Any(s => s.FirstSequence <= from + 1);
        output.WriteLine(reaches
            ? $"opening it loads {(recoverFrom is null ? "no snapshot" : $"the snapshot to record {from:N0}")} and replays records {from + 1:N0} to {Math.Max(last, from):N0}"
            : $"it cannot be opened: records {from + 1:N0} to {segments[0].FirstSequence - 1:N0} are in no whole snapshot and no segment");
        if (damaged.Count == 0 && reaches)
        {
            return 0;
        }

        error.WriteLine($"heirloom: damaged: {string.Join(", ", damaged.Select(Path.GetFileName))}{(reaches ? " (the table still opens whole from the rest)" : "")}");
        return 1;
    }

    private static KeyValuePair<string, string>? CodecsFromSnapshots(string directory)
    {
        foreach (var (_, path) in DurableDirectory.Snapshots(directory).Reverse())
        {
            try
            {
                var info = TableFile.ReadInfo(path);
                return new(info.KeyCodec, info.ValueCodec);
            }
            catch (TableFileException)
            {
                // a damaged snapshot says nothing reliable; try an older one
            }
        }

        return null;
    }

    private void WriteLine(Action<Utf8JsonWriter> write)
    {
        _line.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_line))
        {
            write(json);
        }

        output.WriteLine(Encoding.UTF8.GetString(_line.WrittenSpan));
    }
}
