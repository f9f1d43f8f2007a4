using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// Tables whose objects live off the GC heap, encoded by the table's codecs, as ETS keeps its objects. Choose one for
/// a large table (millions of objects): the GC never traces its objects, so a table of tens of millions adds nothing to
/// collection pauses, where the same table on the heap (<see cref="Table.New{TKey, TValue}(Node, TableOptions, IEqualityComparer{TKey}?, IComparer{TKey}?)"/>)
/// is two objects or more per entry for every full collection to walk. For small tables, or when reads must be as
/// fast as possible, the heap is the better choice.
/// </summary>
/// <remarks>
/// <para>Copy semantics: an insert copies the object in (encodes it) and every read copies it out (decodes a new
/// instance), so changing an object after its insert, or changing what a read returned, never changes the table. On the
/// heap, the table holds the very instance inserted.</para>
/// <para>Equality is that of the encoded bytes: two keys are the same key, and in a bag two values are duplicates (and
/// <c>DeleteObject</c> finds a value), when their encodings are equal. With the built-in codecs that is .NET equality,
/// except that the doubles -0.0 and 0.0 differ and a NaN equals only a NaN with the same payload; with a JSON codec,
/// objects equal when they serialize alike. Ordered sets order keys with <see cref="Comparer{T}.Default"/>.</para>
/// <para>Functions given to AddOrUpdate, TryUpdate, SelectDelete and SelectReplace of a set, bag or duplicate bag run
/// outside the key's lock, and their result is stored only if the key still holds the bytes they saw, else they run
/// again: keep them pure (an ordered set runs them once, under its lock). Every other operation behaves as on the
/// heap. A codec that throws on write surfaces as a <see cref="TableException"/>
/// (<see cref="TableError.BadArgument"/>) and leaves the table unchanged.</para>
/// <para>The memory is freed when the table is deleted (explicitly, or with its owner); a table never deleted is freed
/// when it becomes unreachable. <see cref="Table.GetInfo"/> reports the native bytes in use.</para>
/// </remarks>
public static class OffHeapTable
{
    /// <summary>Creates an off-heap table owned by the calling process.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="keyCodec">How keys are encoded; default the built-in codec (<see cref="Codecs.For{T}"/>).</param>
    /// <param name="valueCodec">How values are encoded; default the built-in codec.</param>
    /// <exception cref="InvalidOperationException">Called outside any process; use the overload taking a node.</exception>
    /// <exception cref="NotSupportedException">A type has no built-in codec and none was given.</exception>
    /// <exception cref="TableException">The name is taken (AlreadyExists).</exception>
    public static Table<TKey, TValue> New<TKey, TValue>(TableOptions options, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        var current = Process.CurrentProcess ?? throw new InvalidOperationException("OffHeapTable.New(options) creates a table owned by the calling process and was called outside any process; call OffHeapTable.New(node, options) for a table the node owns.");
        return New(current.Node, options, keyCodec, valueCodec);
    }

    /// <summary>Creates an off-heap table on a node, owned by the calling process when it runs on that node, else by
    /// the node.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="node">The node.</param>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="keyCodec">How keys are encoded; default the built-in codec (<see cref="Codecs.For{T}"/>).</param>
    /// <param name="valueCodec">How values are encoded; default the built-in codec.</param>
    /// <exception cref="NotSupportedException">A type has no built-in codec and none was given.</exception>
    /// <exception cref="TableException">The name is taken (AlreadyExists).</exception>
    public static Table<TKey, TValue> New<TKey, TValue>(Node node, TableOptions options, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        var engine = NewEngine(options.Type, keyCodec ?? Codecs.For<TKey>(), valueCodec ?? Codecs.For<TValue>(), node.Scheduler);
        return Table.Create(node, options, null, null, wrap: null, engine);
    }

    /// <summary>The off-heap engine for a table of <paramref name="type"/>.</summary>
    internal static TableStore<TKey, TValue> NewEngine<TKey, TValue>(TableType type, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec, NodeScheduler scheduler)
        where TKey : notnull =>
        type == TableType.OrderedSet
            ? new OffHeapOrderedStore<TKey, TValue>(keyCodec, valueCodec, null)
            : new OffHeapHashStore<TKey, TValue>(type, keyCodec, valueCodec, scheduler);

    /// <summary>The native bytes an off-heap table's objects take (records and, for hash tables, the bucket array);
    /// 0 for a table on the heap or deleted.</summary>
    internal static long NativeBytes(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.IsDeleted ? 0 : table.UntypedStore switch
        {
            IOffHeapStore store => store.NativeBytes,
            IWrappingStore { InnerStore: IOffHeapStore store } => store.NativeBytes,
            _ => 0,
        };
    }
}
