namespace Heirloom.Persistence;

/// <summary>Why a table file could not be read (the errors of ETS's <c>file2tab</c>).</summary>
public enum TableFileError
{
    /// <summary>Not a table file, or a header that makes no sense (<c>badfile</c>).</summary>
    BadFile,

    /// <summary>The file ends before its last object and checksum (<c>badfile</c>, truncated).</summary>
    Truncated,

    /// <summary>A format version this Heirloom does not know.</summary>
    UnknownVersion,

    /// <summary>The objects do not match the checksum (<c>checksum_error</c>).</summary>
    ChecksumMismatch,

    /// <summary>The file holds another number of objects than its header says (<c>invalid_object_count</c>).</summary>
    InvalidObjectCount,

    /// <summary>The file was written for other key or value types or codecs than the reader's.</summary>
    WrongCodec,

    /// <summary>A durable table's directory holds a table of another type than the one asked for.</summary>
    WrongType,

    /// <summary>The table could not be created: its name is taken (<c>cannot_create_table</c>).</summary>
    CannotCreateTable,

    /// <summary>The file was written by a newer version of a codec than the reader's: by a newer release
    /// (<see cref="CodecVersionException"/>).</summary>
    NewerCodecVersion,

    /// <summary>The file was written by an older version of a codec than the reader's, and the reader has no upgrade
    /// step from it (<see cref="CodecVersionException"/>).</summary>
    MissingUpgradeStep,
}
