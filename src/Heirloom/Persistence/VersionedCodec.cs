using System.Buffers;

namespace Heirloom.Persistence;

/// <summary>
/// A codec with the steps that carry values written by its older versions forward: start from the codec of the oldest
/// shape still on disk and add one step per version with <see cref="Then{TNext}"/>. It writes with the newest codec;
/// it reads a value written at any version it holds by reading it with that version's codec and applying each step
/// after it in turn (v1 to v2 to v3). A durable table opened with it upgrades what it reads, snapshot and journal, and
/// then writes a snapshot at the newest version.
/// </summary>
/// <example><code>
/// var carts = new VersionedCodec&lt;CartV1&gt;(new JsonCodec&lt;CartV1&gt;("cart"))
///     .Then(new JsonCodec&lt;Cart&gt;("cart", version: 2), old =&gt; new Cart(old.Customer, int.Parse(old.Items)));
/// </code></example>
/// <typeparam name="T">The value type of the newest version.</typeparam>
public sealed class VersionedCodec<T> : ICodec<T>
{
    private readonly ICodec<T> _current;
    private readonly OlderVersionReader? _older;

    /// <summary>Starts a chain at <paramref name="codec"/>, the oldest version still to be read (its
    /// <see cref="ICodec{T}.Version"/>, often 1).</summary>
    /// <param name="codec">The codec of the oldest shape.</param>
    public VersionedCodec(ICodec<T> codec)
        : this(codec, null, (codec ?? throw new ArgumentNullException(nameof(codec))).OldestVersion, codec.Aliases)
    {
    }

    private VersionedCodec(ICodec<T> current, OlderVersionReader? older, int oldest, IReadOnlyCollection<string> aliases)
    {
        _current = current;
        _older = older;
        OldestVersion = oldest;
        Aliases = aliases;
    }

    private delegate T OlderVersionReader(int version, ReadOnlySpan<byte> data);

    /// <summary>The newest codec's name.</summary>
    public string Name => _current.Name;

    /// <summary>The newest codec's version: the version written.</summary>
    public int Version => _current.Version;

    /// <summary>The oldest version read: the first codec's.</summary>
    public int OldestVersion { get; }

    /// <summary>Every name of the chain's codecs other than the newest, and their aliases.</summary>
    public IReadOnlyCollection<string> Aliases { get; }

    /// <summary>Adds the step to the next version: values of this chain's newest version are read and passed to
    /// <paramref name="upgrade"/>, whose result is the next version's value.</summary>
    /// <typeparam name="TNext">The value type of the next version (may be <typeparamref name="T"/> itself).</typeparam>
    /// <param name="next">The next version's codec; its version must be this chain's plus one.</param>
    /// <param name="upgrade">Turns a value of this version into one of the next; it must not return null for a
    /// non-null value, and is called once per stored value while a table opens.</param>
    /// <returns>The longer chain, which writes with <paramref name="next"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="next"/>'s version is not this chain's plus one.</exception>
    public VersionedCodec<TNext> Then<TNext>(ICodec<TNext> next, Func<T, TNext> upgrade)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(upgrade);
        if (next.Version != Version + 1)
        {
            throw new ArgumentException($"The step after version {Version} of {Name} must lead to version {Version + 1}, but the codec given ({next.Name}) is at version {next.Version}. Give each version its own step, in order.", nameof(next));
        }

        var names = Aliases.Append(Name).Concat(next.Aliases).Where(name => name != next.Name).Distinct().ToArray();
        return new VersionedCodec<TNext>(next, (version, data) => upgrade(ReadVersion(version, data)), OldestVersion, names);
    }

    /// <inheritdoc />
    public void Write(IBufferWriter<byte> writer, T value) => _current.Write(writer, value);

    /// <inheritdoc />
    public T Read(ReadOnlySpan<byte> data) => _current.Read(data);

    /// <inheritdoc />
    public T ReadVersion(int version, ReadOnlySpan<byte> data)
    {
        if (version >= _current.OldestVersion && version <= Version)
        {
            return _current.ReadVersion(version, data);
        }

        return version >= OldestVersion && _older is not null
            ? _older(version, data)
            : throw new NotSupportedException($"The codec {Name} reads versions {OldestVersion} to {Version}, not {version}.");
    }
}
