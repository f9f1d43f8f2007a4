using System.Collections.Concurrent;
using Heirloom.Persistence;

namespace Heirloom.Routing;

/// <summary>
/// The types routed requests, casts and replies may carry, each with the codec it travels through, found by its exact
/// type (a derived type needs its own registration). Built in: string, long, int, double, bool, Guid, DateTime and
/// byte arrays. Every node must register the same types under the same codec names.
/// </summary>
public sealed class MessageCodecs
{
    private readonly ConcurrentDictionary<Type, MessageCodec> _byType = new();
    private readonly ConcurrentDictionary<string, MessageCodec> _byName = new(StringComparer.Ordinal);

    /// <summary>The built-in codecs only.</summary>
    public MessageCodecs()
    {
        Add(Codecs.For<string>());
        Add(Codecs.For<long>());
        Add(Codecs.For<int>());
        Add(Codecs.For<double>());
        Add(Codecs.For<bool>());
        Add(Codecs.For<Guid>());
        Add(Codecs.For<DateTime>());
        Add(Codecs.For<byte[]>());
    }

    /// <summary>Lets <typeparamref name="T"/> travel between nodes through <paramref name="codec"/>, by default
    /// System.Text.Json (<see cref="JsonCodec{T}"/>, named by the type's <see cref="CodecNameAttribute"/> if it has
    /// one).</summary>
    /// <typeparam name="T">The request, message or reply type.</typeparam>
    /// <param name="codec">Its codec; null for System.Text.Json.</param>
    /// <returns>These codecs, to chain registrations.</returns>
    /// <exception cref="ArgumentException">Another type is registered under the codec's name.</exception>
    public MessageCodecs Register<T>(ICodec<T>? codec = null)
        where T : notnull
    {
        Add(codec ?? new JsonCodec<T>());
        return this;
    }

    /// <summary>Whether <paramref name="type"/> has a codec.</summary>
    /// <param name="type">The type.</param>
    public bool IsRegistered(Type type) => _byType.ContainsKey(type);

    /// <summary>The codec of <paramref name="value"/>'s exact type.</summary>
    /// <exception cref="MissingCodecException">None is registered.</exception>
    internal MessageCodec For(object value) =>
        _byType.TryGetValue(value.GetType(), out var codec) ? codec : throw new MissingCodecException(value.GetType(), null);

    /// <summary>The codec a peer named.</summary>
    /// <exception cref="MissingCodecException">None is registered under the name.</exception>
    internal MessageCodec Named(string name) =>
        _byName.TryGetValue(name, out var codec) ? codec : throw new MissingCodecException(null, name);

    private void Add<T>(ICodec<T> codec)
    {
        var entry = new MessageCodec.Of<T>(codec);
        if (_byName.TryGetValue(codec.Name, out var existing) && existing.Type != typeof(T))
        {
            throw new ArgumentException($"The codec name '{codec.Name}' is registered for {existing.Type.FullName} already; give {typeof(T).FullName} a codec of another name.", nameof(codec));
        }

        _byName[codec.Name] = entry;
        _byType[typeof(T)] = entry;
    }
}
