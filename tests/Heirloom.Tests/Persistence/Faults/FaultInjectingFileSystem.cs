using Heirloom.Persistence;
using Microsoft.Win32.SafeHandles;

namespace Heirloom.Tests.Persistence.Faults;

/// <summary>
/// The real file system, except that once armed, every call of one operation on a matching path fails with an errno,
/// as a full disk or a failing device keeps failing, until <see cref="Heal"/>.
/// </summary>
internal sealed class FaultInjectingFileSystem : DurableFileSystem
{
    public const int NoSpace = 28; // ENOSPC
    public const int IoError = 5; // EIO

    private readonly Lock _lock = new();
    private FileOperation _operation;
    private Func<string, bool> _where = _ => false;
    private int _errno;
    private int _callsBeforeFailing;
    private bool _armed;

    /// <summary>How many calls failed.</summary>
    public int Injected { get; private set; }

    /// <summary>Fails <paramref name="operation"/> on paths matching <paramref name="where"/> after
    /// <paramref name="callsBeforeFailing"/> more matching calls succeed.</summary>
    public void Arm(FileOperation operation, int errno, Func<string, bool> where, int callsBeforeFailing = 0)
    {
        lock (_lock)
        {
            (_operation, _errno, _where, _callsBeforeFailing, _armed) = (operation, errno, where, callsBeforeFailing, true);
        }
    }

    /// <summary>The fault clears: space is back, the device answers.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _armed = false;
        }
    }

    public override SafeFileHandle CreateNew(string path)
    {
        Check(FileOperation.Create, path);
        return base.CreateNew(path);
    }

    public override SafeFileHandle Create(string path)
    {
        Check(FileOperation.Create, path);
        return base.Create(path);
    }

    public override void Write(SafeFileHandle file, string path, ReadOnlySpan<byte> bytes, long offset)
    {
        Check(FileOperation.Write, path);
        base.Write(file, path, bytes, offset);
    }

    public override void SetLength(SafeFileHandle file, string path, long length)
    {
        Check(FileOperation.SetLength, path);
        base.SetLength(file, path, length);
    }

    public override void FlushToDisk(SafeFileHandle file, string path)
    {
        Check(FileOperation.Fsync, path);
        base.FlushToDisk(file, path);
    }

    public override void SyncDirectory(string directory)
    {
        Check(FileOperation.SyncDirectory, directory);
        base.SyncDirectory(directory);
    }

    public override void Move(string from, string to)
    {
        Check(FileOperation.Rename, to);
        base.Move(from, to);
    }

    public override void Delete(string path)
    {
        Check(FileOperation.Delete, path);
        base.Delete(path);
    }

    private void Check(FileOperation operation, string path)
    {
        lock (_lock)
        {
            if (!_armed || operation != _operation || !_where(path))
            {
                return;
            }

            if (_callsBeforeFailing > 0)
            {
                _callsBeforeFailing--;
                return;
            }

            Injected++;
            throw new IOException(_errno == NoSpace ? "No space left on device" : "Input/output error", _errno);
        }
    }
}
