using System.Globalization;
using Heirloom.Persistence;

namespace Heirloom.Postgres;

/// <summary>
/// A codec as the cluster records it for a table, as table files do: its name, and for a version above 1 <c>@v</c>
/// and the version (<c>cart@v2</c>). A node reads a table's rows if its codec has the recorded name (or lists it as an
/// alias) and reads the recorded version: its own, or an older one through its upgrade steps.
/// </summary>
internal static class RecordedCodec
{
    public static string Of<T>(ICodec<T> codec) => codec.Version == 1 ? codec.Name : string.Create(CultureInfo.InvariantCulture, $"{codec.Name}@v{codec.Version}");

    public static (string Name, int Version) Parse(string recorded)
    {
        var at = recorded.LastIndexOf("@v", StringComparison.Ordinal);
        return at > 0 && int.TryParse(recorded.AsSpan(at + 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 1
            ? (recorded[..at], version)
            : (recorded, 1);
    }

    public static bool NameMatches<T>(ICodec<T> codec, string recorded) =>
        Parse(recorded).Name is var name && (name == codec.Name || codec.Aliases.Contains(name));

    /// <summary>The version of a recorded codec, once it is known that <paramref name="codec"/> reads it.</summary>
    /// <param name="codec">This node's codec.</param>
    /// <param name="recorded">The codec the table records.</param>
    /// <param name="table">The table, for the message.</param>
    /// <exception cref="CodecVersionException">A newer version (written by a newer release), or an older one the codec
    /// has no step from.</exception>
    public static int ReadableVersion<T>(ICodec<T> codec, string recorded, string table)
    {
        var (name, version) = Parse(recorded);
        return version <= codec.Version && version >= codec.OldestVersion
            ? version
            : throw new CodecVersionException($"Clustered table '{table}'", name, version, codec.OldestVersion, codec.Version);
    }
}
