namespace Heirloom.Persistence;

/// <summary>
/// Records copied out of native memory under their store's lock, to be decoded after it is released: a lookup's values
/// or a traversal's next few objects. Managed and reused, so a traversal allocates per chunk, not per object.
/// </summary>
internal sealed unsafe class RecordChunk
{
    [ThreadStatic]
    private static RecordChunk? t_cached;

    private byte[] _data = new byte[512];
    private Entry[] _entries = new Entry[8];
    private int _used;

    public int Count { get; private set; }

    /// <summary>An empty chunk: this thread's cached one, taken out of the cache until returned, so that nested use (a
    /// function reading another table) gets its own.</summary>
    public static RecordChunk Rent()
    {
        var chunk = t_cached ?? new RecordChunk();
        t_cached = null;
        chunk.Clear();
        return chunk;
    }

    /// <summary>Caches the chunk for this thread, unless it grew past 1 MiB (then it is left to the GC).</summary>
    public static void Return(RecordChunk chunk)
    {
        if (chunk._data.Length <= 1 << 20)
        {
            t_cached = chunk;
        }
    }

    public void Clear()
    {
        Count = 0;
        _used = 0;
    }

    /// <summary>Copies a record's key, and its value unless <paramref name="withValue"/> is false.</summary>
    public void Add(NativeRecord* record, bool withValue = true)
    {
        var key = NativeRecord.KeyOf(record);
        var value = withValue ? NativeRecord.ValueOf(record) : default;
        Reserve(key.Length + value.Length);
        key.CopyTo(_data.AsSpan(_used));
        value.CopyTo(_data.AsSpan(_used + key.Length));
        _entries[Count++] = new Entry(record->Order, _used, key.Length, value.Length);
        _used += key.Length + value.Length;
    }

    /// <summary>Copies a record's value only.</summary>
    public void AddValue(NativeRecord* record)
    {
        var value = NativeRecord.ValueOf(record);
        Reserve(value.Length);
        value.CopyTo(_data.AsSpan(_used));
        _entries[Count++] = new Entry(record->Order, _used, 0, value.Length);
        _used += value.Length;
    }

    /// <summary>Adds bytes as a value (an expected value to compare records with).</summary>
    public void AddBytes(ReadOnlySpan<byte> value)
    {
        Reserve(value.Length);
        value.CopyTo(_data.AsSpan(_used));
        _entries[Count++] = new Entry(0, _used, 0, value.Length);
        _used += value.Length;
    }

    public uint Order(int index) => _entries[index].Order;

    public ReadOnlySpan<byte> Key(int index) => _data.AsSpan(_entries[index].Start, _entries[index].KeyLength);

    public ReadOnlySpan<byte> Value(int index)
    {
        var entry = _entries[index];
        return _data.AsSpan(entry.Start + entry.KeyLength, entry.ValueLength);
    }

    private void Reserve(int bytes)
    {
        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        if (_data.Length - _used < bytes)
        {
            Array.Resize(ref _data, (int)Math.Min(Array.MaxLength, Math.Max((long)_data.Length * 2, (long)_used + bytes)));
        }
    }

    private readonly record struct Entry(uint Order, int Start, int KeyLength, int ValueLength);
}
