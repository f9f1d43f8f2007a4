using System.Security.Cryptography;
using System.Text;

namespace Heirloom.Routing;

/// <summary>Challenge and response with the cluster's shared secret: the listener sends a fresh random nonce, the
/// connector answers with HMAC-SHA256(secret, nonce), so the secret never travels and an answer cannot be replayed on
/// another connection.</summary>
internal static class PeerAuthentication
{
    public static byte[] NewChallenge() => RandomNumberGenerator.GetBytes(32);

    public static byte[] Answer(string? secret, byte[] challenge) =>
        secret is null ? [] : HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), challenge);

    /// <summary>Whether <paramref name="answer"/> proves the secret; anything goes without one.</summary>
    public static bool Verify(string? secret, byte[] challenge, byte[] answer) =>
        secret is null || CryptographicOperations.FixedTimeEquals(Answer(secret, challenge), answer);
}
