namespace Heirloom.Routing;

/// <summary>A peer stopped (it said goodbye) before it read a call: the call was not handled, and goes to the table's
/// next owner.</summary>
internal sealed class PeerLeftException(string message) : IOException(message);
