using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace Heirloom.Routing;

/// <summary>The router's settings as configuration spells them, turned into <see cref="RouterOptions"/>.</summary>
internal static class RouterSettings
{
    private static readonly string[] s_keys =
    [
        nameof(RouterOptions.ListenAddress), nameof(RouterOptions.Port), nameof(RouterOptions.AdvertisedHost),
        nameof(RouterOptions.Secret), nameof(RouterOptions.VerdictSlack), nameof(RouterOptions.HandOffDrain),
        nameof(RouterOptions.ConnectTimeout), "CertificatePath", "CertificatePassword", nameof(RouterOptions.RequirePeerCertificates),
        PeerThumbprintsKey,
    ];

    /// <summary>The SHA-256 thumbprints (hex, separated by commas) of the only certificates peers may present: a
    /// cluster with certificates of its own, which the system does not trust, pins them here.</summary>
    private const string PeerThumbprintsKey = "PeerCertificateThumbprints";

    /// <summary>Reads <paramref name="section"/>; what is not set keeps <see cref="RouterOptions"/>' default.</summary>
    /// <exception cref="ArgumentException">A key is unknown or a value does not parse (the message names it and says
    /// what it should be).</exception>
    public static RouterOptions Bind(IConfiguration section)
    {
        var path = section is IConfigurationSection named ? named.Path : "The router's configuration";
        var unknown = section.GetChildren().Select(c => c.Key).Where(k => !s_keys.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"{path} has {(unknown.Count == 1 ? "a setting" : "settings")} the router does not know: {string.Join(", ", unknown)}. " +
                $"Its settings are {string.Join(", ", s_keys)}; fix the spelling or remove it.");
        }

        var defaults = new RouterOptions();
        var certificatePath = section["CertificatePath"];
        return new RouterOptions
        {
            ListenAddress = Read(section, path, nameof(RouterOptions.ListenAddress), defaults.ListenAddress, ParseAddress, "an IP address such as 127.0.0.1, or 0.0.0.0 with AdvertisedHost"),
            Port = Read(section, path, nameof(RouterOptions.Port), defaults.Port, s => int.Parse(s, CultureInfo.InvariantCulture), "a port number (0 takes a free one)"),
            AdvertisedHost = Text(section, nameof(RouterOptions.AdvertisedHost)),
            Secret = Text(section, nameof(RouterOptions.Secret)),
            VerdictSlack = Read(section, path, nameof(RouterOptions.VerdictSlack), defaults.VerdictSlack, ParseSpan, "a time span such as 00:00:00.250"),
            HandOffDrain = Read(section, path, nameof(RouterOptions.HandOffDrain), defaults.HandOffDrain, ParseSpan, "a time span such as 00:00:01"),
            ConnectTimeout = Read(section, path, nameof(RouterOptions.ConnectTimeout), defaults.ConnectTimeout, ParseSpan, "a time span such as 00:00:02"),
            RequirePeerCertificates = Read(section, path, nameof(RouterOptions.RequirePeerCertificates), false, bool.Parse, "true or false"),
            Certificate = certificatePath is { Length: > 0 } ? Load(path, certificatePath, section["CertificatePassword"]) : null,
            ValidatePeerCertificate = Text(section, PeerThumbprintsKey) is { } pinned ? Pinned(path, pinned) : null,
        };
    }

    /// <summary>Trusts exactly the certificates with these SHA-256 thumbprints, whatever their chain and name.</summary>
    private static System.Net.Security.RemoteCertificateValidationCallback Pinned(string path, string value)
    {
        var thumbprints = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => t.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant())
            .ToHashSet(StringComparer.Ordinal);
        if (thumbprints.Count == 0 || thumbprints.Any(t => t.Length != 64 || !t.All(Uri.IsHexDigit)))
        {
            throw new ArgumentException(
                $"{path}:{PeerThumbprintsKey} is '{value}', which is not a list of SHA-256 thumbprints: each is 64 hexadecimal digits " +
                "(certificate.GetCertHashString(HashAlgorithmName.SHA256)), separated by commas.", PeerThumbprintsKey);
        }

        return (_, certificate, _, _) => certificate is not null && thumbprints.Contains(certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256));
    }

    private static string? Text(IConfiguration section, string key) => section[key] is { Length: > 0 } value ? value : null;

    private static T Read<T>(IConfiguration section, string path, string key, T fallback, Func<string, T> parse, string expected)
    {
        if (section[key] is not { Length: > 0 } value)
        {
            return fallback;
        }

        try
        {
            return parse(value);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"{path}:{key} is '{value}', which is not {expected}.", key, e);
        }
    }

    private static IPAddress ParseAddress(string value) => IPAddress.Parse(value);

    private static TimeSpan ParseSpan(string value) => TimeSpan.Parse(value, CultureInfo.InvariantCulture);

    private static X509Certificate2 Load(string path, string file, string? password)
    {
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(file, password);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ArgumentException($"{path}:CertificatePath '{file}' could not be loaded as a PKCS#12 certificate with its CertificatePassword: {e.Message}", "CertificatePath", e);
        }
    }
}
