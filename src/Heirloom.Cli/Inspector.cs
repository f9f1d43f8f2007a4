using System.Buffers;
using System.Text;
using System.Text.Json;
using Heirloom.Persistence;

namespace Heirloom.Cli;

/// <summary>
/// What the heirloom commands do with a path: a table file or snapshot (HEIRLOOM magic), a journal segment
/// (journal-&lt;first sequence&gt;.log), or a durable table's directory. Results go to <paramref name="output"/>,
/// problems to <paramref name="error"/>. Exit codes: <see cref="Whole"/>, <see cref="Damaged"/>,
/// <see cref="BadUsage"/>, <see cref="NoTableData"/>.
/// </summary>
internal sealed class Inspector(TextWriter output, TextWriter error)
{
    /// <summary>Everything read is whole.</summary>
    public const int Whole = 0;

    /// <summary>Something read is damaged (or a directory's table cannot be opened).</summary>
    public const int Damaged = 1;

    /// <summary>The command cannot run as given: a missing path, an unknown codec, a directory where a file is needed.</summary>
    public const int BadUsage = 2;

    /// <summary>The path holds no table data: a file that is neither a table file nor a journal segment, or a directory
    /// with neither.</summary>
    public const int NoTableData = 3;

    /// <summary>The codec names the dump understands; json:&lt;type&gt; besides.</summary>
    public static readonly string[] KnownCodecs = ["i64", "i32", "f64", "bool", "guid", "datetime", "utf8", "bytes"];

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

    public int Dump(string path, string? keyCodec, string? valueCodec)
    {
        if ((UnknownCodec(keyCodec) ?? UnknownCodec(valueCodec)) is { } unknown)
        {
            return Usage($"unknown codec '{unknown}'; the known codecs are {string.Join(", ", KnownCodecs)} and json:<type>.");
        }

        return Guard(path, kind => kind switch
        {
            Kind.TableFile => DumpTableFile(path),
            Kind.Segment => DumpSegment(path, keyCodec, valueCodec),
            _ => DumpDirectory(path),
        });
    }

    private static string? UnknownCodec(string? codec) =>
        codec is null || KnownCodecs.Contains(codec) || (codec.StartsWith("json:", StringComparison.Ordinal) && codec.Length > 5) ? null : codec;

    private int Guard(string path, Func<Kind, int> command)
    {
        try
        {
            return command(Detect(path));
        }
        catch (NoTableDataException e)
        {
            error.WriteLine($"heirloom: no table data: {e.Message}");
            return NoTableData;
        }
        catch (Exception e) when (e is TableFileException or JournalCorruptedException or InvalidDataException)
        {
            error.WriteLine($"heirloom: damaged: {e.Message}");
            return Damaged;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or ArgumentException)
        {
            return Usage(e.Message);
        }
    }

    private int Usage(string message)
    {
        error.WriteLine($"heirloom: {message}");
        return BadUsage;
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
            : throw new NoTableDataException($"{path} is neither a table file or snapshot (it does not start with HEIRLOOM) nor a journal segment (named journal-<first sequence>.log).");
    }

    private int TableFileInfo(string path)
    {
        var info = TableFile.ReadInfo(path);
        WriteLine(json =>
        {
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteString("kind", info.JournalSequence > 0 || DurableDirectory.IsSnapshotName(path) ? "snapshot" : "table file");
            WriteShape(json, info.Version, info.Type, info.Access, info.KeyCodec, info.KeyCodecVersion, info.ValueCodec, info.ValueCodecVersion);
            json.WriteString("name", info.Name);
            json.WriteNumber("objects", info.ObjectCount);
            json.WriteNumber("journalSequence", info.JournalSequence);
            json.WriteString("checksum", info.Checksum);
            json.WriteNumber("bytes", new FileInfo(path).Length);
            json.WriteEndObject();
        });
        return Whole;
    }

    private int VerifyTableFile(string path)
    {
        var (info, objects) = TableFile.ReadRaw(path);
        output.WriteLine($"{path}: ok, {objects.Count:N0} objects, checksum {info.Checksum[..16].ToLowerInvariant()}… matches");
        return Whole;
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

        return Whole;
    }

    /// <summary>Writes a durable table's objects as opening it would recover them, one JSON line per object; the
    /// values are as stored (no upgrade step runs), and a note goes to standard error when the files read hold more
    /// than one codec version.</summary>
    private int DumpDirectory(string directory)
    {
        if (DurableDirectory.Snapshots(directory).Count == 0 && DurableDirectory.Segments(directory).Count == 0)
        {
            throw new NoTableDataException($"{directory} holds no snapshot and no journal segment: it is not a durable table's directory, or its table was never opened.");
        }

        var table = RecoveredTable.Read(directory);
        if (table.Codecs.Count > 1)
        {
            error.WriteLine($"heirloom: note: the files read hold values under codecs {string.Join(" and ", table.Codecs)}; values are shown as stored, not upgraded (opening the table with its upgrade steps rewrites them at the newest version).");
        }

        var (keyCodec, valueCodec) = table.Shown;
        foreach (var (key, value) in table.Objects)
        {
            WriteLine(json =>
            {
                json.WriteStartObject();
                json.WritePropertyName("key");
                ValueWriter.Write(json, keyCodec, key);
                json.WritePropertyName("value");
                ValueWriter.Write(json, valueCodec, value);
                json.WriteEndObject();
            });
        }

        return Whole;
    }

    private int SegmentInfo(string path)
    {
        var scan = ReadSegment(path, "info", _ => { });
        WriteLine(json =>
        {
            json.WriteStartObject();
            json.WriteString("path", path);
            json.WriteString("kind", "journal segment");
            if (scan.Header is { } header)
            {
                WriteShape(json, JournalSegmentHeader.Version, header.Type, header.Access, header.KeyCodec, header.KeyCodecVersion, header.ValueCodec, header.ValueCodecVersion);
            }

            json.WriteNumber("firstSequence", scan.FirstSequence);
            json.WriteNumber("records", scan.Records);
            if (scan.Records > 0)
            {
                json.WriteNumber("lastSequence", scan.LastSequence);
            }

            json.WriteNumber("bytes", new FileInfo(path).Length);
            json.WriteNumber("tornBytes", scan.TornBytes);
            json.WriteEndObject();
        });
        return Whole;
    }

    private int VerifySegment(string path)
    {
        var scan = ReadSegment(path, "verify", _ => { });
        output.WriteLine($"{path}: ok, {DescribeRecords(scan)}" +
            (scan.TornBytes > 0 && scan.Header is not null ? $"; a torn last write of {scan.TornBytes} bytes follows them (cut off when the table opens)" : ""));
        return Whole;
    }

    /// <summary>A segment's records in words: a range, or none yet.</summary>
    private static string DescribeRecords(JournalSegmentSummary scan) => (scan.Header, scan.Records) switch
    {
        (null, _) => $"no records: its creation was interrupted before its header was written (opening the table writes it; the next record is {scan.FirstSequence:N0})",
        (_, 0) => $"no records yet (the next is {scan.FirstSequence:N0})",
        _ => $"records {scan.FirstSequence:N0} to {scan.LastSequence:N0}",
    };

    private int DumpSegment(string path, string? keyCodec, string? valueCodec)
    {
        var header = JournalReader.Read(path, allowTornTail: true).Header;
        keyCodec ??= header?.KeyCodec;
        valueCodec ??= header?.ValueCodec;
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
        return Whole;
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

    /// <summary>
    /// Describes a durable table's directory: its snapshots and segments, then what opening it would do, or why it
    /// cannot be opened. A directory with neither snapshots nor segments holds no table data.
    /// </summary>
    private int DirectoryReport(string directory)
    {
        var snapshots = DurableDirectory.Snapshots(directory);
        var segments = DurableDirectory.Segments(directory);
        if (snapshots.Count == 0 && segments.Count == 0)
        {
            throw new NoTableDataException($"{directory} holds no snapshot and no journal segment: it is not a durable table's directory, or its table was never opened.");
        }

        var damagedSnapshots = new List<string>();
        long? recoverFrom = null;
        foreach (var (sequence, path) in snapshots.Reverse())
        {
            var intact = TableFile.IsIntact(path);
            if (intact)
            {
                recoverFrom ??= sequence;
            }
            else
            {
                damagedSnapshots.Add(Path.GetFileName(path));
            }

            var codecs = intact ? $", codecs {TableFile.ReadInfo(path).Codecs}" : "";
            output.WriteLine($"{Path.GetFileName(path)}: snapshot to record {sequence:N0}, {new FileInfo(path).Length:N0} bytes, {(intact ? "whole" : "DAMAGED (checksum mismatch)")}{codecs}");
        }

        var from = recoverFrom ?? 0;
        var problems = new List<string>();
        long last = from;
        for (var i = 0; i < segments.Count; i++)
        {
            var (first, path) = segments[i];
            var name = Path.GetFileName(path);

            // Opening reads the segments from the one holding the record after the snapshot; older ones it skips.
            var needed = i + 1 == segments.Count || segments[i + 1].FirstSequence > from + 1;
            try
            {
                var scan = JournalReader.Read(path, allowTornTail: i == segments.Count - 1);
                var missing = needed && first > last + 1 ? $"; records {last + 1:N0} to {first - 1:N0} are in no whole snapshot and no segment" : "";
                if (missing.Length > 0)
                {
                    problems.Add($"{name} starts at record {first:N0} where {last + 1:N0} was due");
                }

                last = needed ? Math.Max(last, scan.LastSequence) : last;
                var codecs = scan.Header is { } header ? $", codecs {header.Codecs}" : "";
                output.WriteLine($"{name}: {DescribeRecords(scan)}, {new FileInfo(path).Length:N0} bytes{codecs}{(scan.TornBytes > 0 && scan.Header is not null ? $", torn last write of {scan.TornBytes} bytes" : "")}{missing}");
            }
            catch (Exception e) when (e is JournalCorruptedException or InvalidDataException)
            {
                output.WriteLine($"{name}: DAMAGED: {e.Message}");
                problems.Add(needed ? $"{name} is damaged" : $"{name} is damaged (opening does not read it)");
            }
        }

        var blocking = problems.Where(p => !p.EndsWith("(opening does not read it)", StringComparison.Ordinal)).ToList();
        if (blocking.Count > 0)
        {
            output.WriteLine($"it cannot be opened: {string.Join("; ", blocking)}");
            error.WriteLine($"heirloom: damaged: {string.Join("; ", problems.Concat(damagedSnapshots.Select(s => $"{s} is damaged")))}");
            return Damaged;
        }

        var skipping = damagedSnapshots.Count > 0 ? $"skips the damaged {string.Join(", ", damagedSnapshots)}, " : "";
        var loads = recoverFrom is null ? "starts from an empty table" : $"loads the snapshot to record {from:N0}";
        var replays = last > from ? $"replays records {from + 1:N0} to {last:N0}" : "has no records to replay";
        output.WriteLine($"opening it {skipping}{loads} and {replays}");
        if (problems.Count == 0 && damagedSnapshots.Count == 0)
        {
            return Whole;
        }

        error.WriteLine($"heirloom: damaged: {string.Join("; ", problems.Concat(damagedSnapshots.Select(s => $"{s} is damaged")))} (the table still opens whole from the rest)");
        return Damaged;
    }

    /// <summary>The path holds no table data at all: not damage, not a usage error.</summary>
    private sealed class NoTableDataException(string message) : Exception(message);

    /// <summary>What a file says of the table it belongs to: format version, type, access, and codecs with their versions.</summary>
    private static void WriteShape(Utf8JsonWriter json, int version, Heirloom.Tables.TableType type, Heirloom.Tables.TableAccess access, string keyCodec, int keyCodecVersion, string valueCodec, int valueCodecVersion)
    {
        json.WriteNumber("version", version);
        json.WriteString("type", type.ToString());
        json.WriteString("access", access.ToString());
        json.WriteString("keyCodec", keyCodec);
        json.WriteNumber("keyCodecVersion", keyCodecVersion);
        json.WriteString("valueCodec", valueCodec);
        json.WriteNumber("valueCodecVersion", valueCodecVersion);
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
