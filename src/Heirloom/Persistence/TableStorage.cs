namespace Heirloom.Persistence;

/// <summary>Where a table keeps its objects.</summary>
public enum TableStorage
{
    /// <summary>
    /// On the GC heap, as given: an insert stores the object itself and a lookup returns it, with no copy and no
    /// codec. The fastest choice for tables of up to a few million objects; store immutable values, since a mutable
    /// object changed after its insert changes in the table too.
    /// </summary>
    Heap,

    /// <summary>
    /// Off the GC heap, encoded by the table's codecs, as ETS keeps its objects: an insert copies the object in and a
    /// lookup copies it out (decodes a new instance), so an object changed after its insert does not change the table.
    /// The GC never traces the objects, so a table of tens of millions costs no collection pauses; each read pays a
    /// decode. Keys are equal when their encodings are (see <see cref="OffHeapTable"/>).
    /// </summary>
    OffHeap,
}
