namespace Heirloom.Persistence;

/// <summary>The role of a storage layer that wraps an engine (a journal, a replica): the engine, for roles only it has.</summary>
internal interface IWrappingStore
{
    /// <summary>The wrapped store.</summary>
    object InnerStore { get; }
}
