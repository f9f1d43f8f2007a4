using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Heirloom.Persistence;

/// <summary>
/// A codec through System.Text.Json, for any type; pass a source-generated <see cref="JsonTypeInfo{T}"/> for trimming
/// and speed. Its name is the one given, else the type's <see cref="CodecNameAttribute"/>, else <c>json:</c> and the
/// type's full name (the name files written before stable names recorded). A stable name lists the CLR-type name as an
/// alias, so files written under it still open (and are rewritten under the stable name).
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class JsonCodec<T> : ICodec<T>
{
    private readonly JsonTypeInfo<T>? _typeInfo;

    /// <summary>A codec using <paramref name="typeInfo"/> (source generation), or reflection when null, named by the
    /// type's <see cref="CodecNameAttribute"/> if it has one.</summary>
    /// <param name="typeInfo">The type's metadata from a JsonSerializerContext.</param>
    public JsonCodec(JsonTypeInfo<T>? typeInfo = null)
    {
        _typeInfo = typeInfo;
        var legacy = ClrTypeName;
        if (typeof(T).GetCustomAttribute<CodecNameAttribute>() is { } attribute)
        {
            CodecIdentity.ValidateVersion(attribute.Version, nameof(CodecNameAttribute.Version));
            (Name, Version) = (attribute.Name, attribute.Version);
            Aliases = [.. attribute.Aliases.Append(legacy).Where(alias => alias != attribute.Name).Distinct()];
        }
        else
        {
            (Name, Version, Aliases) = (legacy, 1, []);
        }
    }

    /// <summary>A codec named <paramref name="name"/> at <paramref name="version"/>, whatever the type's attribute
    /// says; the CLR-type name and the attribute's aliases are accepted as aliases.</summary>
    /// <param name="name">The stable name recorded in files (no '@').</param>
    /// <param name="version">The version of the shape it writes.</param>
    /// <param name="typeInfo">The type's metadata from a JsonSerializerContext, or null for reflection.</param>
    /// <exception cref="ArgumentException">The name is empty or holds '@'.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The version is below 1.</exception>
    public JsonCodec(string name, int version = 1, JsonTypeInfo<T>? typeInfo = null)
    {
        CodecIdentity.ValidateName(name, nameof(name));
        CodecIdentity.ValidateVersion(version, nameof(version));
        _typeInfo = typeInfo;
        (Name, Version) = (name, version);
        var declared = typeof(T).GetCustomAttribute<CodecNameAttribute>() is { } attribute ? attribute.Aliases.Append(attribute.Name) : [];
        Aliases = [.. declared.Append(ClrTypeName).Where(alias => alias != name).Distinct()];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Version { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Aliases { get; }

    private static string ClrTypeName => $"json:{typeof(T).FullName}";

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
