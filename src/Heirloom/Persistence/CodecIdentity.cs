using System.Globalization;

namespace Heirloom.Persistence;

/// <summary>
/// How a codec is recorded in files: its name, and for a version above 1 <c>@v</c> and the version (<c>cart@v2</c>).
/// Version 1 is recorded as the bare name, so every file written before codecs had versions reads as version 1.
/// </summary>
internal static class CodecIdentity
{
    private const string Separator = "@v";

    /// <summary>The recorded form of a name and version.</summary>
    public static string Format(string name, int version) =>
        version == 1 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}{Separator}{version}");

    /// <summary>The recorded form of a codec.</summary>
    public static string Of<T>(ICodec<T> codec) => Format(codec.Name, codec.Version);

    /// <summary>A recorded codec's name and version (1 when none is recorded).</summary>
    public static (string Name, int Version) Parse(string recorded)
    {
        var at = recorded.LastIndexOf(Separator, StringComparison.Ordinal);
        if (at > 0 && int.TryParse(recorded.AsSpan(at + Separator.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 1)
        {
            return (recorded[..at], version);
        }

        return (recorded, 1);
    }

    /// <exception cref="ArgumentException">The name is empty or holds '@'.</exception>
    public static void ValidateName(string name, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, parameter);
        if (name.Contains('@', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The codec name '{name}' holds '@', which files use to record a codec's version; choose a name without it.", parameter);
        }
    }

    /// <exception cref="ArgumentOutOfRangeException">The version is below 1.</exception>
    public static void ValidateVersion(int version, string parameter)
    {
        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(parameter, version, "A codec's version starts at 1 and only goes up.");
        }
    }
}
