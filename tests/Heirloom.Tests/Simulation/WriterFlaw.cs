namespace Heirloom.Tests.Simulations;

/// <summary>A bug planted in the sample worker, for the simulation to find.</summary>
internal enum WriterFlaw
{
    None,

    /// <summary>Acknowledges a record before it is written and durable.</summary>
    AcknowledgeBeforeWriting,

    /// <summary>Keeps its next record number in a field, not derived from the table on hand-off: a restarted worker
    /// numbers from 1 again and overwrites acknowledged records.</summary>
    DerivedStateOutsideTable,
}
