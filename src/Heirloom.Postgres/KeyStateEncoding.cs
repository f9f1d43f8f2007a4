using System.Buffers.Binary;

namespace Heirloom.Postgres;

/// <summary>A key's values as one <c>bytea</c>: each value's codec bytes after its length (four bytes, little-endian).
/// A key with no values is a tombstone, stored as NULL.</summary>
internal static class KeyStateEncoding
{
    public static byte[]? Encode(IReadOnlyList<byte[]> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var length = 0;
        foreach (var value in values)
        {
            length += 4 + value.Length;
        }

        var state = new byte[length];
        var offset = 0;
        foreach (var value in values)
        {
            BinaryPrimitives.WriteInt32LittleEndian(state.AsSpan(offset), value.Length);
            value.CopyTo(state, offset + 4);
            offset += 4 + value.Length;
        }

        return state;
    }

    /// <exception cref="InvalidDataException">The state is cut short or its lengths do not add up.</exception>
    public static List<byte[]> Decode(byte[]? state)
    {
        var values = new List<byte[]>(1);
        var rest = state.AsSpan();
        while (rest.Length > 0)
        {
            if (rest.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(rest) is var length && (length < 0 || length > rest.Length - 4))
            {
                throw new InvalidDataException("A clustered table's row holds a key state that is cut short; it was not written by Heirloom.");
            }

            values.Add(rest.Slice(4, length).ToArray());
            rest = rest[(4 + length)..];
        }

        return values;
    }
}
