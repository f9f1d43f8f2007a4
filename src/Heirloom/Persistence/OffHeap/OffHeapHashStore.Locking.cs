using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Heirloom.Persistence;

/// <summary>The off-heap hash store's locks and growth: 64 stripe locks, each guarding the buckets whose index has its
/// low six bits; growing doubles the bucket array while holding them all.</summary>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue>
{
    // Inside this thread's batch every stripe is already held (growing, fixing, clearing): nothing to take, nothing to
    // free.
    protected override void LockAllWriters()
    {
        if (BatchHeldByThisThread)
        {
            return;
        }

        for (var i = 0; i < LockCount; i++)
        {
            EnterStripe(_locks, i);
        }
    }

    protected override void UnlockAllWriters()
    {
        if (BatchHeldByThisThread)
        {
            return;
        }

        for (var i = LockCount - 1; i >= 0; i--)
        {
            _locks[i].Exit();
        }
    }

    /// <summary>Reverses the bits of a hash: its place in the traversal order.</summary>
    /// <summary>Locks the stripe of a hash's bucket and reads the bucket array it guards. The stripe is the hash's low
    /// bits, the same at every size, and growing holds every stripe, so the array read here stays current until the
    /// stripe is released.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Hold LockBucket(uint hash)
    {
        var stripe = (int)(hash & (LockCount - 1));
        var locked = EnterStripe(_locks, stripe);
        return new Hold(stripe, locked, _memory.Current);
    }

    private void Unlock(Hold hold)
    {
        if (hold.Locked)
        {
            _locks[hold.Stripe].Exit();
        }
    }

    /// <summary>Grows the table after an add outgrew its stripe's budget; growing takes every stripe, so it never runs
    /// under one.</summary>
    private void GrowIf(bool outgrew, NativeBuckets.BucketArray seen)
    {
        if (outgrew)
        {
            Grow(seen);
        }
    }

    private void Grow(NativeBuckets.BucketArray seen)
    {
        LockAllWriters();
        try
        {
            if (_memory.Current != seen || seen.Bits >= 30)
            {
                return;
            }

            var grown = new NativeBuckets.BucketArray(seen.Bits + 1);
            for (var bucket = 0; bucket < seen.Length; bucket++)
            {
                Split(seen.Heads[bucket], seen.Bits, &grown.Heads[2 * bucket], &grown.Heads[(2 * bucket) + 1]);
            }

            _memory.Replace(grown);
            _budget = Math.Max(1, grown.Length / LockCount);
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    /// <summary>Gives an empty table a bucket array of 2^<paramref name="bits"/> buckets, under every stripe.</summary>
    private void ReplaceEmpty(int bits)
    {
        LockAllWriters();
        try
        {
            Debug.Assert(Count == 0, "Only an empty table takes a new bucket array without moving its records.");
            var grown = new NativeBuckets.BucketArray(bits);
            _memory.Replace(grown);
            _budget = Math.Max(1, grown.Length / LockCount);
        }
        finally
        {
            UnlockAllWriters();
        }
    }

    /// <summary>Splits the chain of bucket b between buckets 2b and 2b + 1 of a table twice the size: by bit 31 - k of
    /// the reversed hash. The chain is sorted by reversed hash and its keys share their top k bits, so the records with
    /// that bit clear all come first: one cut, no re-sorting.</summary>
    private static void Split(NativeRecord* chain, int bits, NativeRecord** low, NativeRecord** high)
    {
        var bit = 1u << (31 - bits);
        *low = chain;
        var link = low;
        while (*link is not null && ((*link)->Order & bit) == 0)
        {
            link = &(*link)->Next;
        }

        *high = *link;
        *link = null;
    }

    /// <summary>A stripe held (or, inside this thread's batch, already held) and the bucket array it guards.</summary>
    private readonly record struct Hold(int Stripe, bool Locked, NativeBuckets.BucketArray Buckets);
}
