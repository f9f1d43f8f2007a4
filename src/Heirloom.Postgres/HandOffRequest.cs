namespace Heirloom.Postgres;

/// <summary>Sent by the node's balancer to a clustered table's server: hand the table to <paramref name="Successor"/>
/// (a planned move), if the server still owns it under <paramref name="Ownership"/>. <paramref name="Done"/> completes
/// once the server handed the table off (true) or did not (false: it no longer owned it, or was fenced instead), so that
/// the balancer keeps only a few moves in flight.</summary>
internal sealed record HandOffRequest(TableOwnership Ownership, string Successor, TaskCompletionSource<bool> Done);
