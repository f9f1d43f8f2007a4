using Heirloom.Tables;

namespace Heirloom.Persistence;

/// <summary>Encoding for the off-heap stores: a codec that fails is reported with what it failed on, and always before
/// the store changed anything (every store encodes first, then writes).</summary>
internal static class OffHeapEncoding
{
    public static void Encode<T>(ICodec<T> codec, EncodeBuffer buffer, T value, string role)
    {
        try
        {
            codec.Write(buffer, value);
        }
        catch (Exception e) when (e is not TableException)
        {
            throw new TableException(TableError.BadArgument, $"The {role} codec '{codec.Name}' failed to encode a {typeof(T).Name} ({e.GetType().Name}: {e.Message}); an off-heap table stores only what its codecs encode, and nothing was changed. Fix the codec or the {role}.", e);
        }
    }
}
