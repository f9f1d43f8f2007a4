using Heirloom.Processes;
using Heirloom.Tables;
using Heirloom.Tables.Storage;

namespace Heirloom.Persistence;

/// <summary>
/// Durable tables: a table whose every acknowledged write is in an append-only journal (per the fsync policy), so it
/// survives its owner, its node and the OS process. Opening replays the journal into a fresh table, truncating a torn
/// tail (an interrupted last write) and refusing a journal damaged before its end.
/// </summary>
public static class DurableTable
{
    private const string JournalFile = "journal.log";

    /// <summary>
    /// Opens (or creates) the durable table kept in <paramref name="durability"/>'s directory, owned by the calling
    /// process (or the node, outside any process). Deleting the table, or its owner dying with no heir, drops it from
    /// memory and closes its journal; the files stay, and the next open recovers it.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="node">The node.</param>
    /// <param name="options">Type, access, name, heir.</param>
    /// <param name="durability">Directory and fsync policy.</param>
    /// <param name="keyCodec">How keys are written; default the built-in codec.</param>
    /// <param name="valueCodec">How values are written; default the built-in codec.</param>
    /// <exception cref="JournalCorruptedException">The journal is damaged before its end.</exception>
    /// <exception cref="TableException">The name is taken.</exception>
    public static Table<TKey, TValue> Open<TKey, TValue>(Node node, TableOptions options, DurabilityOptions durability, ICodec<TKey>? keyCodec = null, ICodec<TValue>? valueCodec = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(durability);
        keyCodec ??= Codecs.For<TKey>();
        valueCodec ??= Codecs.For<TValue>();
        Directory.CreateDirectory(durability.Directory);
        var path = Path.Combine(durability.Directory, JournalFile);
        Journal? journal = null;
        try
        {
            return Table.Create<TKey, TValue>(node, options, null, null, store =>
            {
                journal = Journal.Open(path, durability.Fsync, record => JournaledStore<TKey, TValue>.Replay(store, record, keyCodec, valueCodec));
                return new JournaledStore<TKey, TValue>(store, journal, keyCodec, valueCodec);
            });
        }
        catch
        {
            journal?.Dispose();
            throw;
        }
    }
}
