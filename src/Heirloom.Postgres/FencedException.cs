namespace Heirloom.Postgres;

/// <summary>
/// This node no longer owns a clustered table: another node took it over (its epoch is newer), or this node could not
/// reach PostgreSQL within its owner deadline and stopped serving. The table's writes since the last commit were not
/// acknowledged. It is a <see cref="Tables.TableWithdrawnException"/>: the local worker (a <c>TableWorker</c>) drops the
/// table and waits for it without exiting, so fencing spends no restart intensity, and the node waits to own the table
/// again as a standby.
/// </summary>
public sealed class FencedException : Tables.TableWithdrawnException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">The clustered table.</param>
    /// <param name="epoch">The epoch this node held.</param>
    /// <param name="message">What happened.</param>
    /// <param name="inner">The failure behind it, if any.</param>
    public FencedException(string table, long epoch, string message, Exception? inner = null)
        : base(message, inner)
    {
        Table = table;
        Epoch = epoch;
    }

    /// <summary>The clustered table.</summary>
    public string Table { get; }

    /// <summary>The epoch this node held when it was fenced.</summary>
    public long Epoch { get; }
}
