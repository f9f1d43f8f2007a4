namespace Heirloom.Postgres;

/// <summary>Sent by the node's balancer to a clustered table's server: hand the table to <paramref name="Successor"/>
/// (a planned move), if the server still owns it under <paramref name="Ownership"/>.</summary>
internal sealed record HandOffRequest(TableOwnership Ownership, string Successor);
