using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Heirloom.Persistence;

/// <summary>A codec through System.Text.Json, for any type; pass a source-generated <see cref="JsonTypeInfo{T}"/>
/// for trimming and speed.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class JsonCodec<T> : ICodec<T>
{
    private readonly JsonTypeInfo<T>? _typeInfo;

    /// <summary>A codec using <paramref name="typeInfo"/> (source generation), or reflection when null.</summary>
    /// <param name="typeInfo">The type's metadata from a JsonSerializerContext.</param>
    public JsonCodec(JsonTypeInfo<T>? typeInfo = null) => _typeInfo = typeInfo;

    /// <inheritdoc />
    public string Name => $"json:{typeof(T).FullName}";

    /// <inheritdoc />
    public void Write(IBufferWriter<byte> writer, T value)
    {
        using var json = new Utf8JsonWriter(writer);
        if (_typeInfo is null)
        {
            JsonSerializer.Serialize(json, value);
        }
        else
        {
            JsonSerializer.Serialize(json, value, _typeInfo);
        }
    }

    /// <inheritdoc />
    public T Read(ReadOnlySpan<byte> data) =>
        (_typeInfo is null ? JsonSerializer.Deserialize<T>(data) : JsonSerializer.Deserialize(data, _typeInfo))!;
}
