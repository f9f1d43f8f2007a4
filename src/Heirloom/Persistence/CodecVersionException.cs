namespace Heirloom.Persistence;

/// <summary>
/// A file holds values of a codec version the reader cannot read: a newer one (written by a newer release;
/// <see cref="TableFileError.NewerCodecVersion"/>) or an older one with no upgrade step from it
/// (<see cref="TableFileError.MissingUpgradeStep"/>). Nothing was read and nothing was changed.
/// </summary>
public sealed class CodecVersionException : TableFileException
{
    /// <summary>Creates the exception, with a message naming both versions and what to do.</summary>
    /// <param name="path">The file.</param>
    /// <param name="codec">The codec's name.</param>
    /// <param name="fileVersion">The version the file was written at.</param>
    /// <param name="oldestVersion">The oldest version the reader reads.</param>
    /// <param name="version">The reader's version.</param>
    public CodecVersionException(string path, string codec, int fileVersion, int oldestVersion, int version)
        : base(fileVersion > version ? TableFileError.NewerCodecVersion : TableFileError.MissingUpgradeStep, Describe(path, codec, fileVersion, oldestVersion, version))
    {
        (Path, Codec, FileVersion, OldestVersion, Version) = (path, codec, fileVersion, oldestVersion, version);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The codec's name.</summary>
    public string Codec { get; }

    /// <summary>The version the file was written at.</summary>
    public int FileVersion { get; }

    /// <summary>The oldest version the reader reads.</summary>
    public int OldestVersion { get; }

    /// <summary>The reader's version: the one it writes.</summary>
    public int Version { get; }

    private static string Describe(string path, string codec, int fileVersion, int oldestVersion, int version) => fileVersion > version
        ? $"{path} holds {codec} values at version {fileVersion}, newer than this code's version {version}: it was written by a newer release, and older code never reads a newer version. Run the release that wrote it (or a newer one), or restore the files from before that release first wrote them."
        : $"{path} holds {codec} values at version {fileVersion}, but this code writes version {version} and reads from version {oldestVersion} only. Register the upgrade step from version {fileVersion} to {fileVersion + 1} (start a VersionedCodec at the version {fileVersion} codec and add each step with Then), or open the files with the release that wrote them.";
}
