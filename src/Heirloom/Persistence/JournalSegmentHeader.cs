using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>
/// What every journal segment records before its first record: the table's type and access and the names of the codecs
/// its keys and values were written with, so that a segment is never read with other types, whether or not a
/// snapshot exists beside it.
/// </summary>
/// <param name="Type">The table's type.</param>
/// <param name="Access">The table's access when the segment was started.</param>
/// <param name="KeyCodec">The name of the codec its keys were written with (without its version).</param>
/// <param name="ValueCodec">The name of the codec its values were written with (without its version).</param>
public sealed record JournalSegmentHeader(TableType Type, TableAccess Access, string KeyCodec, string ValueCodec)
{
    /// <summary>The format version written.</summary>
    public const int Version = 1;

    private const int ChecksumLength = 4;

    /// <summary>The bytes every journal segment starts with.</summary>
    internal static ReadOnlySpan<byte> Magic => "HEIRJRNL"u8;

    /// <summary>The version of the codec its keys were written with (1 for segments written before codecs had versions).</summary>
    public int KeyCodecVersion { get; init; } = 1;

    /// <summary>The version of the codec its values were written with (1 for segments written before codecs had versions).</summary>
    public int ValueCodecVersion { get; init; } = 1;

    /// <summary>The codecs as the messages name them: key codec/value codec, each with <c>@v</c> and its version when
    /// above 1.</summary>
    public string Codecs => $"{CodecIdentity.Format(KeyCodec, KeyCodecVersion)}/{CodecIdentity.Format(ValueCodec, ValueCodecVersion)}";

    /// <summary>The header a table with these codecs writes.</summary>
    internal static JournalSegmentHeader For<TKey, TValue>(TableType type, TableAccess access, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec) =>
        new(type, access, keyCodec.Name, valueCodec.Name) { KeyCodecVersion = keyCodec.Version, ValueCodecVersion = valueCodec.Version };

    /// <summary>The header's bytes: magic, version u32, type u8, access u8, two length-prefixed (u16) UTF-8 codec
    /// names (each with <c>@v</c> and its version when above 1), and the CRC-32C of all that.</summary>
    internal byte[] ToBytes()
    {
        var key = Encoding.UTF8.GetBytes(CodecIdentity.Format(KeyCodec, KeyCodecVersion));
        var value = Encoding.UTF8.GetBytes(CodecIdentity.Format(ValueCodec, ValueCodecVersion));
        var bytes = new byte[Magic.Length + 4 + 2 + 2 + key.Length + 2 + value.Length + ChecksumLength];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        var at = Magic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], Version);
        span[at + 4] = (byte)Type;
        span[at + 5] = (byte)Access;
        at += 6;
        at = WriteName(span, at, key);
        at = WriteName(span, at, value);
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], Checksum(span[..at]));
        return bytes;
    }

    /// <summary>
    /// Reads a segment's header from the start of its bytes; returns its length. Bytes too few to hold the header's
    /// magic and version, and all of them as the header starts, are <paramref name="cutShort"/> (a segment whose
    /// creation was interrupted), with no header.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes do not start with a valid header.</exception>
    internal static JournalSegmentHeader? Read(ReadOnlySpan<byte> bytes, out int length, out bool cutShort)
    {
        length = 0;
        cutShort = false;
        if (bytes.Length < Magic.Length + 8)
        {
            cutShort = Magic.StartsWith(bytes[..Math.Min(bytes.Length, Magic.Length)]);
            if (!cutShort)
            {
                throw new InvalidDataException("it does not start as a journal segment does");
            }

            return null;
        }

        if (!bytes.StartsWith(Magic))
        {
            throw new InvalidDataException("it does not start as a journal segment does");
        }

        var at = Magic.Length;
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        if (version != Version)
        {
            throw new InvalidDataException($"it is in journal format version {version}; this Heirloom reads version {Version}");
        }

        var type = (TableType)bytes[at + 4];
        var access = (TableAccess)bytes[at + 5];
        at += 6;
        // The header is written whole by one small write before any record, so only a file that ends before its
        // version is taken for one whose creation was interrupted; a header that runs past the end is damaged.
        if (!TryReadName(bytes, ref at, out var key) || !TryReadName(bytes, ref at, out var value) || at + ChecksumLength > bytes.Length)
        {
            throw new InvalidDataException("its header is damaged: its codec names run past the end of the file");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]) != Checksum(bytes[..at]) || !Enum.IsDefined(type) || !Enum.IsDefined(access))
        {
            throw new InvalidDataException("its header does not match its checksum");
        }

        length = at + ChecksumLength;
        var (keyName, keyVersion) = CodecIdentity.Parse(key);
        var (valueName, valueVersion) = CodecIdentity.Parse(value);
        return new JournalSegmentHeader(type, access, keyName, valueName) { KeyCodecVersion = keyVersion, ValueCodecVersion = valueVersion };
    }

    /// <summary>Whether records may be appended after those of a segment with this header by a table whose header is
    /// <paramref name="other"/>: the same type and the same codecs at the same versions (the access may differ: it is
    /// the opener's to choose).</summary>
    internal bool SameCodecs(JournalSegmentHeader other) =>
        Type == other.Type && Codecs == other.Codecs;

    private static int WriteName(Span<byte> span, int at, byte[] name)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], checked((ushort)name.Length));
        name.CopyTo(span[(at + 2)..]);
        return at + 2 + name.Length;
    }

    private static bool TryReadName(ReadOnlySpan<byte> bytes, ref int at, out string name)
    {
        name = "";
        if (at + 2 > bytes.Length)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
        if (at + 2 + length > bytes.Length)
        {
            return false;
        }

        name = Encoding.UTF8.GetString(bytes.Slice(at + 2, length));
        at += 2 + length;
        return true;
    }

    private static uint Checksum(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc ^ 0xFFFFFFFF;
    }
}
