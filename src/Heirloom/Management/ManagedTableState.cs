namespace Heirloom.Management;

/// <summary>Where a managed table is.</summary>
public enum ManagedTableState
{
    /// <summary>The manager holds it and is looking for the process to hand it to.</summary>
    Discovering,

    /// <summary>A worker owns it; the manager is its heir.</summary>
    HandedOff,

    /// <summary>Its durable storage failed and it was closed (a full disk, say), or it could not be opened because its
    /// directory holds other types, codecs or codec versions than configured; the manager opens it again from its
    /// directory, with backoff, and hands it on once that succeeds.</summary>
    Failed,
}
