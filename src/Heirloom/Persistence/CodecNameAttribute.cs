namespace Heirloom.Persistence;

/// <summary>
/// Names the codec of a value type, as files record it, so that renaming or moving the type changes nothing on disk.
/// <see cref="JsonCodec{T}"/> takes its name, version and aliases from this attribute when none is given to it; without
/// the attribute it is named after the CLR type (<c>json:</c> and the full name), as in files written before the
/// attribute existed.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface | AttributeTargets.Enum, Inherited = false)]
public sealed class CodecNameAttribute : Attribute
{
    /// <summary>Names the type's codec.</summary>
    /// <param name="name">The stable name: any text without '@' (kept for the version), such as <c>cart</c>.</param>
    /// <exception cref="ArgumentException">The name is empty or holds '@'.</exception>
    public CodecNameAttribute(string name)
    {
        CodecIdentity.ValidateName(name, nameof(name));
        Name = name;
    }

    /// <summary>The stable name.</summary>
    public string Name { get; }

    /// <summary>The version of the type's shape the codec writes (1 unless set). Raise it when stored values of the old
    /// shape no longer read as the new one, and register the step from the old version (<see cref="VersionedCodec{T}"/>).</summary>
    public int Version { get; set; } = 1;

    /// <summary>Other names the type's values were recorded under, such as <c>json:Carts.Cart</c> before the type was
    /// renamed: files under them open, and are rewritten under <see cref="Name"/>.</summary>
    public string[] Aliases { get; set; } = [];
}
