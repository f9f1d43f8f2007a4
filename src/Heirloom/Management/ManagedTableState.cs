namespace Heirloom.Management;

/// <summary>Where a managed table is.</summary>
public enum ManagedTableState
{
    /// <summary>The manager holds it and is looking for the process to hand it to.</summary>
    Discovering,

    /// <summary>A worker owns it; the manager is its heir.</summary>
    HandedOff,
}
