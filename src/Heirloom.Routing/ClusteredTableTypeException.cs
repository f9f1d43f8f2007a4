namespace Heirloom.Routing;

/// <summary>A routed read named a clustered table with key or value types (or codecs) other than the table's.</summary>
public sealed class ClusteredTableTypeException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">The table's name.</param>
    /// <param name="tableTypes">The table's key and value types and codecs, as the node that checked them describes them.</param>
    /// <param name="requestedTypes">The key and value types and codecs the read used.</param>
    public ClusteredTableTypeException(string table, string tableTypes, string requestedTypes)
        : base($"Clustered table '{table}' holds {tableTypes}, but it was read as {requestedTypes}. Read it with the table's key and value types; " +
            "a node that runs no server of the table reads through those types' built-in codecs (Codecs.For), so a table with codecs of its own is read from a node that serves it.")
    {
        Table = table;
        TableTypes = tableTypes;
        RequestedTypes = requestedTypes;
    }

    /// <summary>The table's name.</summary>
    public string Table { get; }

    /// <summary>The table's key and value types and codecs.</summary>
    public string TableTypes { get; }

    /// <summary>The key and value types and codecs the read used.</summary>
    public string RequestedTypes { get; }

    /// <summary>How a read or a table describes its types and codecs in the message.</summary>
    internal static string Describe(string keyType, string keyCodec, string valueType, string valueCodec) =>
        $"keys of {keyType} (codec '{keyCodec}') and values of {valueType} (codec '{valueCodec}')";
}
