namespace Heirloom.Tests.Persistence.Faults;

/// <summary>The steps of <see cref="Heirloom.Persistence.DurableFileSystem"/> a fault can be injected at.</summary>
public enum FileOperation
{
    Create,
    Write,
    SetLength,
    Fsync,
    SyncDirectory,
    Rename,
    Delete,
}
