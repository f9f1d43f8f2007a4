using System.Buffers;
using System.Diagnostics;

namespace Heirloom.Persistence;

/// <summary>
/// Where an off-heap store encodes a key and a value before copying them into native memory: a pooled array that
/// grows as a codec asks. One is cached per thread; <see cref="Rent"/> takes it out of the cache, so a codec or a
/// function that uses another off-heap table on the same thread gets its own buffer rather than overwriting this one.
/// </summary>
internal sealed class EncodeBuffer : IBufferWriter<byte>
{
    private const int InitialSize = 256;

    [ThreadStatic]
    private static EncodeBuffer? t_cached;

    private byte[] _array = ArrayPool<byte>.Shared.Rent(InitialSize);
    private int _written;

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _written);

    public static EncodeBuffer Rent()
    {
        var buffer = t_cached ?? new EncodeBuffer();
        t_cached = null;
        buffer._written = 0;
        return buffer;
    }

    /// <summary>Gives the buffer back to this thread's cache; a buffer grown past 1 MiB is dropped instead, so one
    /// huge object does not pin its memory for the thread's lifetime.</summary>
    public static void Return(EncodeBuffer buffer)
    {
        if (buffer._array.Length > 1 << 20)
        {
            ArrayPool<byte>.Shared.Return(buffer._array);
            buffer._array = ArrayPool<byte>.Shared.Rent(InitialSize);
        }

        t_cached = buffer;
    }

    /// <summary>Drops what was written after the first <paramref name="length"/> bytes.</summary>
    public void Truncate(int length)
    {
        Debug.Assert(length <= _written, "Only written bytes are kept.");
        _written = length;
    }

    /// <summary>The bytes from <paramref name="start"/> written so far.</summary>
    public ReadOnlySpan<byte> Slice(int start, int length) => _array.AsSpan(start, length);

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _array.Length)
        {
            throw new InvalidOperationException($"A codec advanced {count} bytes past the {_array.Length - _written} it was given; a codec must advance at most the length of the span it wrote to.");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _array.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _array.AsSpan(_written);
    }

    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_array.Length - _written >= needed)
        {
            return;
        }

        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_array.Length * 2, (long)_written + needed)));
        Debug.Assert(grown.Length >= _written + needed, "The pool returns at least the length asked for.");
        _array.AsSpan(0, _written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_array);
        _array = grown;
    }
}
