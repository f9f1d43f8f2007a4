namespace Heirloom.Routing;

/// <summary>
/// A node refused this node's connection: its shared secret differs (<see cref="RouterOptions.Secret"/>), or the TLS
/// handshake failed (a certificate not trusted, or TLS on one side only). Nothing was sent to it. Give every node the same
/// secret and TLS settings.
/// </summary>
public sealed class PeerRefusedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="address">The node's address.</param>
    /// <param name="reason">What was refused.</param>
    /// <param name="inner">The TLS failure, if that was it.</param>
    public PeerRefusedException(string address, string reason, Exception? inner = null)
        : base($"The node at {address} refused this node: {reason}. Nothing was sent to it. Give every node the same RouterOptions.Secret and TLS settings.", inner) =>
        Address = address;

    /// <summary>The refusing node's address.</summary>
    public string Address { get; }
}
