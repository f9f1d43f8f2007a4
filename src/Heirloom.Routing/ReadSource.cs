namespace Heirloom.Routing;

/// <summary>Where a routed read (<see cref="NodeRouter.LookupAsync{TKey, TValue}"/>) was served.</summary>
public enum ReadSource
{
    /// <summary>The owner's table on this node: this node owns the table.</summary>
    LocalOwner = 0,

    /// <summary>The warm standby's copy on this node, fresh within the bound the caller stated.</summary>
    LocalStandby = 1,

    /// <summary>The owner's table on another node, read there (its worker is not called).</summary>
    RemoteOwner = 2,
}
