using System.Globalization;
using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// The files of a durable table's directory: journal segments named by their first sequence, snapshots named by the
/// last sequence they cover (both zero-padded so names sort as numbers), and the lock file that keeps a directory to
/// one open table, across OS processes too.
/// </summary>
internal static partial class DurableFiles
{
    public const string LockFile = "lock";
    private const string SegmentPrefix = "journal-";
    private const string SegmentExtension = ".log";
    private const string SnapshotPrefix = "snapshot-";
    private const string SnapshotExtension = ".htab";

    public static string SegmentPath(string directory, long firstSequence) =>
        Path.Combine(directory, $"{SegmentPrefix}{firstSequence:D20}{SegmentExtension}");

    public static string SnapshotPath(string directory, long sequence) =>
        Path.Combine(directory, $"{SnapshotPrefix}{sequence:D20}{SnapshotExtension}");

    /// <summary>The journal segments, oldest first.</summary>
    public static List<(long FirstSequence, string Path)> Segments(string directory) => Numbered(directory, SegmentPrefix, SegmentExtension);

    /// <summary>The snapshots, oldest first.</summary>
    public static List<(long Sequence, string Path)> Snapshots(string directory) => Numbered(directory, SnapshotPrefix, SnapshotExtension);

    /// <summary>The first sequence a segment's name gives, or null when the name is not a segment's.</summary>
    public static long? SegmentFirstSequence(string path) => Parse(Path.GetFileName(path), SegmentPrefix, SegmentExtension);

    /// <summary>The last journal sequence a snapshot includes, from its file name; null when the name is not a snapshot's.</summary>
    public static long? SnapshotSequence(string path) => Parse(Path.GetFileName(path), SnapshotPrefix, SnapshotExtension);

    /// <summary>
    /// Makes the directory's entries (a rename, a new or deleted file) durable. A file's own fsync does not cover its
    /// name; on Linux the directory has to be fsynced too. Windows has no such call, and NTFS journals names itself.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        var descriptor = Open(directory, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(descriptor) != 0)
            {
                throw new IOException($"Cannot fsync directory {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(descriptor);
        }
    }

    /// <summary>Takes the directory's lock file, held until the returned stream is disposed.</summary>
    /// <exception cref="IOException">Another open table, in this or another OS process, holds the directory.</exception>
    public static FileStream Lock(string directory)
    {
        var path = Path.Combine(directory, LockFile);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"{directory} is in use by another open durable table (in this or another process); one table per directory.", e);
        }
    }

    private static List<(long, string)> Numbered(string directory, string prefix, string extension)
    {
        var found = new List<(long, string)>();
        if (!Directory.Exists(directory))
        {
            return found;
        }

        foreach (var path in Directory.EnumerateFiles(directory, prefix + "*" + extension))
        {
            if (Parse(Path.GetFileName(path), prefix, extension) is { } number)
            {
                found.Add((number, path));
            }
        }

        found.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return found;
    }

    private static long? Parse(string name, string prefix, string extension)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(extension, StringComparison.Ordinal))
        {
            return null;
        }

        var digits = name.AsSpan(prefix.Length, name.Length - prefix.Length - extension.Length);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
