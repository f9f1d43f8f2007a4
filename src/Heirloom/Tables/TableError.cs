namespace Heirloom.Tables;

/// <summary>The distinctions ETS's errors carry (its <c>error_info</c> causes).</summary>
public enum TableError
{
    /// <summary>The table does not exist (deleted, or its owner exited without heir) (<c>id</c>).</summary>
    NoSuchTable,

    /// <summary>The calling process may not read or write this table (<c>access</c>).</summary>
    Access,

    /// <summary>Give-away to a process that cannot receive the table: itself, a dead one, another node's (<c>owner</c>).</summary>
    Owner,

    /// <summary>Only the owner may do this, whatever the access (<c>not_owner</c>).</summary>
    NotOwner,

    /// <summary>The name is used by another table (<c>already_exists</c>).</summary>
    AlreadyExists,

    /// <summary>The key is not in the table and the operation needs it (<c>badkey</c>).</summary>
    BadKey,

    /// <summary>The operation does not apply to this table type (<c>table_type</c>).</summary>
    TableType,

    /// <summary>An argument is out of range, such as a limit of zero (<c>badarg</c>).</summary>
    BadArgument,

    /// <summary>
    /// The table's durable storage failed (a journal write or fsync returned an error, such as a full disk), so the
    /// table was closed: it refuses every read and write until it is opened again from its directory, which recovers
    /// what is on disk. The exception's inner exception is the <see cref="IOException"/>. ETS has no such error.
    /// </summary>
    StorageFailed,
}
