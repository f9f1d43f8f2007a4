namespace Heirloom.Routing;

/// <summary>
/// A routed request or reply has no codec in the router's <see cref="MessageCodecs"/>: a type with none cannot travel
/// between nodes. Register it on every node (<see cref="MessageCodecs.Register{T}"/>, System.Text.Json by default).
/// </summary>
public sealed class MissingCodecException : Exception
{
    /// <summary>Creates the exception for a type, or for a codec name a peer sent that this node does not know.</summary>
    /// <param name="type">The type with no codec, when known.</param>
    /// <param name="codecName">The codec name with no codec here, when known.</param>
    public MissingCodecException(Type? type, string? codecName)
        : base(Describe(type, codecName))
    {
        Type = type;
        CodecName = codecName;
    }

    /// <summary>The type with no codec; null when a peer sent a codec name unknown here.</summary>
    public Type? Type { get; }

    /// <summary>The codec name unknown here; null when a type had no codec.</summary>
    public string? CodecName { get; }

    private static string Describe(Type? type, string? codecName) => type is not null
        ? $"No codec is registered for {type.FullName} in the router's message codecs, so it cannot travel between nodes. " +
          $"Register it on every node: RouterOptions.Codecs.Register<{type.Name}>() (System.Text.Json), or Register<{type.Name}>(codec)."
        : $"A peer sent a message through codec '{codecName}', which this node's router does not know. Register the same types on every node.";
}
