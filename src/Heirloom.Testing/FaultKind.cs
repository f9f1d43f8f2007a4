namespace Heirloom.Testing;

/// <summary>What a simulation injects at a step (see <see cref="Fault"/>).</summary>
public enum FaultKind
{
    /// <summary>An untrappable kill of a process chosen by the fault's target among the live, unprotected ones.</summary>
    Kill,

    /// <summary>The next <see cref="SimulatedNode.FaultPoint(string)"/> a handler passes throws
    /// <see cref="InjectedFaultException"/>.</summary>
    Throw,

    /// <summary>The next write to the simulated disk fails with ENOSPC.</summary>
    DiskFull,

    /// <summary>The next write to the simulated disk fails with EIO.</summary>
    IoError,

    /// <summary>The next fsync on the simulated disk fails with EIO.</summary>
    FsyncFailure,
}
