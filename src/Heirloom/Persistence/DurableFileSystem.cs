using Microsoft.Win32.SafeHandles;

namespace Heirloom.Persistence;

/// <summary>
/// Every call a durable table makes that changes its directory: creating, writing, syncing, renaming and deleting
/// files. One seam, so that the faults a disk can return (a full disk, an I/O error, a failed fsync) can be injected at
/// each of these steps and the table's answer to each checked.
/// </summary>
internal class DurableFileSystem
{
    /// <summary>The operating system's files.</summary>
    public static DurableFileSystem Real { get; } = new();

    /// <summary>Creates a file that must not exist yet, open for writing.</summary>
    public virtual SafeFileHandle CreateNew(string path) => File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);

    /// <summary>Creates or truncates a file, open for writing.</summary>
    public virtual SafeFileHandle Create(string path) => File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None);

    /// <summary>Opens an existing file for writing.</summary>
    public virtual SafeFileHandle OpenExisting(string path) => File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read);

    /// <summary>Writes bytes at an offset of an open file.</summary>
    public virtual void Write(SafeFileHandle file, string path, ReadOnlySpan<byte> bytes, long offset) => RandomAccess.Write(file, bytes, offset);

    /// <summary>Cuts or extends an open file to a length.</summary>
    public virtual void SetLength(SafeFileHandle file, string path, long length) => RandomAccess.SetLength(file, length);

    /// <summary>Forces an open file's data to disk (fsync).</summary>
    public virtual void FlushToDisk(SafeFileHandle file, string path) => RandomAccess.FlushToDisk(file);

    /// <summary>Makes a directory's entries durable; see <see cref="DurableFiles.SyncDirectory"/>.</summary>
    public virtual void SyncDirectory(string directory) => DurableFiles.SyncDirectory(directory);

    /// <summary>Renames a file over another, atomically.</summary>
    public virtual void Move(string from, string to) => File.Move(from, to, overwrite: true);

    /// <summary>Deletes a file; nothing when it is absent.</summary>
    public virtual void Delete(string path) => File.Delete(path);
}
