namespace Heirloom.Persistence;

/// <summary>
/// Decides how values recorded under a codec name and version are read by a given codec: with the codec itself (same
/// name, same version), through its upgrade steps (an older version, or a name it lists as an alias), or not at all.
/// </summary>
internal static class CodecResolution
{
    /// <summary>Whether values recorded under <paramref name="recordedName"/> are the codec's (whatever their version).</summary>
    public static bool NameMatches<T>(ICodec<T> codec, string recordedName) =>
        recordedName == codec.Name || codec.Aliases.Contains(recordedName);

    /// <summary>The codec that reads values recorded as <paramref name="name"/> at <paramref name="version"/> into the
    /// current shape: <paramref name="codec"/> itself when nothing needs upgrading, else a reader that upgrades (and so
    /// is not <paramref name="codec"/>: the caller rewrites what it read). The name must match.</summary>
    /// <exception cref="CodecVersionException">The version is newer than the codec's, or older than it reads.</exception>
    public static ICodec<T> ReaderFor<T>(ICodec<T> codec, string name, int version, string path)
    {
        if (version > codec.Version || version < codec.OldestVersion)
        {
            throw new CodecVersionException(path, codec.Name, version, codec.OldestVersion, codec.Version);
        }

        return name == codec.Name && version == codec.Version ? codec : new UpgradingReader<T>(codec, CodecIdentity.Format(name, version), version);
    }

    /// <summary>What to do when a value codec's recorded name is not the reader's: a JSON codec named after a CLR type
    /// (the type was renamed or moved) is kept readable by an alias.</summary>
    public static string RenameHint(string recordedValueName, string valueName) =>
        recordedValueName.StartsWith("json:", StringComparison.Ordinal) && recordedValueName != valueName
            ? $" If the value type was renamed or moved, give it a stable codec name that keeps the old one as an alias: [CodecName(\"<name>\", Aliases = [\"{recordedValueName}\"])]."
            : "";

    /// <summary>Reads values of an older version (or recorded under an alias) through the codec's upgrade steps. It only
    /// reads: what it read is written back with the codec itself.</summary>
    private sealed class UpgradingReader<T>(ICodec<T> codec, string recorded, int version) : ICodec<T>
    {
        public string Name => recorded;

        public int Version => version;

        public void Write(System.Buffers.IBufferWriter<byte> writer, T value) =>
            throw new InvalidOperationException($"Values are written with {CodecIdentity.Of(codec)}, never at an older version ({recorded}).");

        public T Read(ReadOnlySpan<byte> data) => codec.ReadVersion(version, data);
    }
}
