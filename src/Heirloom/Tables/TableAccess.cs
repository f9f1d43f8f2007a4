namespace Heirloom.Tables;

/// <summary>Who may read and write a table, checked against the calling process (ETS's access).</summary>
public enum TableAccess
{
    /// <summary>Any process reads and writes.</summary>
    Public,

    /// <summary>Any process reads; only the owner writes (the default).</summary>
    Protected,

    /// <summary>Only the owner reads and writes.</summary>
    Private,
}
