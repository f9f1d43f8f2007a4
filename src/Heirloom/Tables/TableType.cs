namespace Heirloom.Tables;

/// <summary>How a table organises its objects (ETS's table types).</summary>
public enum TableType
{
    /// <summary>One value per key; inserting an existing key replaces its value (<c>set</c>).</summary>
    Set,

    /// <summary>A set whose keys are kept sorted by the table's comparer (<c>ordered_set</c>).</summary>
    OrderedSet,

    /// <summary>Several values per key, in insertion order; an identical key-value object is stored once (<c>bag</c>).</summary>
    Bag,

    /// <summary>Several values per key, in insertion order, duplicates kept (<c>duplicate_bag</c>).</summary>
    DuplicateBag,
}
