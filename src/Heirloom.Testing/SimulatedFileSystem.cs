using Heirloom.Persistence;
using Microsoft.Win32.SafeHandles;

namespace Heirloom.Testing;

/// <summary>
/// A disk for durable tables in a simulation: files live in a scratch directory of the run, but what an fsync made
/// durable is tracked here, so that <see cref="PowerLoss"/> can drop what was not (keeping a seeded part of it: a torn
/// write), and faults drawn from the run's seed (a full disk, an I/O error, a failed fsync) strike the next matching call. Fsyncs are
/// not passed to the machine: durability is what this class says it is, and a run does not wait for the real disk.
/// </summary>
/// <remarks>Directory entries count as durable at once (a created, renamed or deleted file stays so after a power
/// loss), except that a file never fsynced is gone after one. Every call reports itself to the trace.</remarks>
internal sealed class SimulatedFileSystem(string root, Action<string> trace) : DurableFileSystem
{
    public const int NoSpace = 28; // ENOSPC
    public const int IoError = 5; // EIO

    // Per file: the length an fsync made durable; absent for a file never fsynced.
    private readonly Dictionary<string, long> _durable = new(StringComparer.Ordinal);
    private readonly HashSet<string> _created = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _writeFault;
    private bool _fsyncFault;
    private bool _lost;

    /// <summary>The scratch directory every simulated path is under.</summary>
    public string Root => root;

    /// <summary>Makes the next write fail with <paramref name="errno"/> (<see cref="NoSpace"/> or <see cref="IoError"/>).</summary>
    public void FailNextWrite(int errno)
    {
        lock (_lock)
        {
            _writeFault = errno;
        }
    }

    /// <summary>Makes the next fsync fail with EIO; what it should have made durable stays not durable.</summary>
    public void FailNextFsync()
    {
        lock (_lock)
        {
            _fsyncFault = true;
        }
    }

    /// <summary>
    /// The machine loses power: from now on every call fails (nothing more reaches the disk), and each file is cut back
    /// to what an fsync made durable plus a part of what followed, its length drawn from <paramref name="random"/> (a
    /// torn write); a file never fsynced is removed. <see cref="PowerBack"/> brings the disk back for a restarted node.
    /// </summary>
    public void PowerLoss(Random random)
    {
        lock (_lock)
        {
            _lost = true;
            foreach (var path in _created.Order(StringComparer.Ordinal).ToList())
            {
                CutBack(path, random);
            }
        }
    }

    /// <summary>The disk answers again, holding what survived <see cref="PowerLoss"/>; faults armed before it are gone
    /// (they belonged to the machine that lost power).</summary>
    public void PowerBack()
    {
        lock (_lock)
        {
            _lost = false;
            _writeFault = 0;
            _fsyncFault = false;
        }
    }

    public override SafeFileHandle CreateNew(string path)
    {
        Check("create", path, write: false);
        var handle = base.CreateNew(path);
        Created(path);
        return handle;
    }

    public override SafeFileHandle Create(string path)
    {
        Check("create", path, write: false);
        var handle = base.Create(path);
        Created(path);
        return handle;
    }

    public override SafeFileHandle OpenExisting(string path)
    {
        Check("open", path, write: false);
        var handle = base.OpenExisting(path);
        lock (_lock)
        {
            // A file from before this disk's run (or a restart) is durable as found.
            if (_created.Add(path))
            {
                _durable[path] = new FileInfo(path).Length;
            }
        }

        return handle;
    }

    public override void Write(SafeFileHandle file, string path, ReadOnlySpan<byte> bytes, long offset)
    {
        Check("write", path, write: true);
        trace($"write {Relative(path)} @{offset} {bytes.Length}B {Fnv(bytes):x16}");
        base.Write(file, path, bytes, offset);
    }

    public override void SetLength(SafeFileHandle file, string path, long length)
    {
        Check("truncate", path, write: true);
        trace($"truncate {Relative(path)} {length}");
        base.SetLength(file, path, length);
        lock (_lock)
        {
            if (_durable.TryGetValue(path, out var durable) && durable > length)
            {
                _durable[path] = length;
            }
        }
    }

    public override void FlushToDisk(SafeFileHandle file, string path)
    {
        lock (_lock)
        {
            ThrowIfLost(path);
            if (_fsyncFault)
            {
                _fsyncFault = false;
                trace($"fault fsync {Relative(path)}");
                throw new IOException($"Input/output error (simulated failed fsync of {path})", IoError);
            }

            _durable[path] = RandomAccess.GetLength(file);
        }

        trace($"fsync {Relative(path)}");
    }

    public override void SyncDirectory(string directory)
    {
        Check("syncdir", directory, write: false);
        trace($"syncdir {Relative(directory)}");
    }

    public override void Move(string from, string to)
    {
        Check("rename", to, write: false);
        trace($"rename {Relative(from)} {Relative(to)}");
        base.Move(from, to);
        lock (_lock)
        {
            if (_created.Remove(from))
            {
                _created.Add(to);
            }

            if (_durable.Remove(from, out var durable))
            {
                _durable[to] = durable;
            }
            else
            {
                _durable.Remove(to);
            }
        }
    }

    public override void Delete(string path)
    {
        Check("delete", path, write: false);
        trace($"delete {Relative(path)}");
        base.Delete(path);
        lock (_lock)
        {
            _created.Remove(path);
            _durable.Remove(path);
        }
    }

    private void Created(string path)
    {
        lock (_lock)
        {
            _created.Add(path);
            _durable.Remove(path);
        }
    }

    private void Check(string operation, string path, bool write)
    {
        lock (_lock)
        {
            ThrowIfLost(path);
            if (write && _writeFault != 0)
            {
                var errno = _writeFault;
                _writeFault = 0;
                trace($"fault {(errno == NoSpace ? "enospc" : "eio")} {operation} {Relative(path)}");
                throw new IOException(errno == NoSpace ? $"No space left on device (simulated, writing {path})" : $"Input/output error (simulated, writing {path})", errno);
            }
        }
    }

    private void ThrowIfLost(string path)
    {
        if (_lost)
        {
            throw new IOException($"Input/output error (simulated power loss; {path} is out of reach)", IoError);
        }
    }

    private void CutBack(string path, Random random)
    {
        if (!File.Exists(path))
        {
            _created.Remove(path);
            _durable.Remove(path);
            return;
        }

        if (!_durable.TryGetValue(path, out var durable))
        {
            trace($"lost {Relative(path)}");
            File.Delete(path);
            _created.Remove(path);
            return;
        }

        var length = new FileInfo(path).Length;
        if (length <= durable)
        {
            return;
        }

        var kept = durable + random.NextInt64(length - durable + 1);
        trace($"torn {Relative(path)} {durable}+{kept - durable}/{length - durable}");
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.SetLength(handle, kept);
        }

        _durable[path] = kept;
    }

    private string Relative(string path) => Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');

    // FNV-1a, 64 bits: a short, stable fingerprint of the bytes written, for the trace (not for security).
    private static ulong Fnv(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
