namespace Heirloom.Postgres;

/// <summary>The call a clustered table's server answers with its <see cref="ClusteredTableStatus"/>, whatever its types.</summary>
internal sealed record ClusteredTableStatusRequest
{
    public static readonly ClusteredTableStatusRequest Instance = new();
}
