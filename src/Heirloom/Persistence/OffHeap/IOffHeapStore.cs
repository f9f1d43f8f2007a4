namespace Heirloom.Persistence;

/// <summary>The role of a store that keeps its objects in native memory: how much it holds.</summary>
internal interface IOffHeapStore
{
    /// <summary>Every native byte the store's objects take, as the allocator counts them.</summary>
    long NativeBytes { get; }
}
