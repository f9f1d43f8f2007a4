using System.Buffers;
using Heirloom.Persistence;

namespace Heirloom.Postgres;

/// <summary>
/// A table's reads on this node, typed. The owner's table is the standby that was promoted into it (the same store),
/// so both roles read <see cref="TableFollower{TKey, TValue}.Standby"/>; what differs is what makes the read valid.
/// </summary>
internal sealed class LocalReads<TKey, TValue>(PostgresCluster cluster, string table, TableFollower<TKey, TValue> follower, ICodec<TKey> keyCodec, ICodec<TValue> valueCodec) : LocalReads
    where TKey : notnull
{
    public override Type KeyType => typeof(TKey);

    public override Type ValueType => typeof(TValue);

    public override string KeyCodecName => keyCodec.Name;

    public override string ValueCodecName => valueCodec.Name;

    public ICodec<TKey> KeyCodec => keyCodec;

    public ICodec<TValue> ValueCodec => valueCodec;

    /// <summary>The owner's values of <paramref name="key"/>, or null when this node does not own the table for the
    /// whole of the read. Owning is checked before and after: a table lost meanwhile (its store may have been emptied
    /// as it left) or lost and taken again is not read from.</summary>
    public IReadOnlyList<TValue>? TryReadOwned(TKey key)
    {
        var owned = cluster.OwnershipToken(table);
        if (owned.IsCancellationRequested || !cluster.Owns(table))
        {
            return null;
        }

        var values = follower.Standby.Lookup(key);
        return cluster.Owns(table) && !owned.IsCancellationRequested ? values : null;
    }

    /// <summary>The standby copy's values of <paramref name="key"/> and the timestamp it is fresh as of, when that is at
    /// or after <paramref name="freshSince"/> (a timestamp of the node's clock); null when the copy is older, or is the
    /// owner's table (promoted), or not loaded yet.</summary>
    public (IReadOnlyList<TValue> Values, long FreshAsOf)? TryReadStandby(TKey key, long freshSince)
    {
        // Freshness first, then the standby: a standby is set before the freshness of its load is, so the copy read
        // below holds at least what this freshness promises (a newer copy holds more).
        var fresh = follower.FreshAsOf;
        if (fresh == long.MinValue || fresh < freshSince)
        {
            return null;
        }

        var standby = follower.Standby;
        if (standby.IsPromoted)
        {
            return null;
        }

        var values = standby.Lookup(key);

        // Promoted during the read: the values may be the owner's table's, which is not what a standby read promises.
        return standby.IsPromoted ? null : (values, fresh);
    }

    public override byte[][]? ReadOwned(ReadOnlySpan<byte> key)
    {
        if (TryReadOwned(keyCodec.Read(key)) is not { } values)
        {
            return null;
        }

        var encoded = new byte[values.Count][];
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < encoded.Length; i++)
        {
            buffer.ResetWrittenCount();
            valueCodec.Write(buffer, values[i]);
            encoded[i] = buffer.WrittenSpan.ToArray();
        }

        return encoded;
    }
}
