using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Heirloom.Persistence;

/// <summary>
/// Frees native memory that readers without a lock may still be reading, once none can be (epoch-based reclamation).
/// A reader announces itself in its thread's slot while it reads native memory (<see cref="EnterRead"/>, then
/// <see cref="ReadScope.Exit"/>): two plain writes to a cache line of its own, no atomic instruction, so readers on
/// several cores share nothing they write. A writer retires what it unlinked instead of freeing it, and retired memory
/// is freed when every reader that might have reached it has left.
/// </summary>
/// <remarks>
/// <para>Readers' writes are plain, so the reclaimer makes them visible with a process-wide barrier
/// (<see cref="Interlocked.MemoryBarrierProcessWide"/>): afterwards, a reader it does not see in a slot entered after
/// the barrier, when the retired memory was unreachable already. Each sealed batch is stamped with the epoch opened just
/// after its memory was unlinked, and freed once no slot shows an older epoch.</para>
/// <para>The barrier costs microseconds, so retired memory is sealed in batches of <see cref="SealCount"/> blocks or
/// <see cref="SealBytes"/> bytes. A batch a reader still holds back is retried on a timer, so that a dropped table's
/// memory is returned even when nothing else is retired after it.</para>
/// </remarks>
internal static unsafe class EpochReclaimer
{
    /// <summary>Retired blocks that make a batch worth a process-wide barrier.</summary>
    public const int SealCount = 4096;

    /// <summary>Retired bytes that make a batch worth a process-wide barrier, whatever its count.</summary>
    public const long SealBytes = 4 << 20;

    private const int MaxSpareLists = 16;

    private static readonly Lock s_lock = new();
    private static readonly Queue<SealedBatch> s_sealed = new();
    private static readonly Timer s_retry = new(static _ => RetryHeldBatches(), null, Timeout.Infinite, Timeout.Infinite);
    private static ReaderSlot[] s_slots = [];
    private static long s_epoch = 1;
    private static List<RetiredBlock> s_open = new(SealCount);

    // The lists of freed batches, kept for the next batches: a batch's list lives from its first retirement until its
    // readers are gone, long enough to meet a gen0 collection, and a new list per batch would be promoted for nothing.
    private static readonly Stack<List<RetiredBlock>> s_spareLists = new();
    private static long s_openBytes;

    [ThreadStatic]
    private static SlotLease? t_lease;

    /// <summary>Marks this thread as reading native memory until the scope exits; nested scopes keep the outer one's
    /// epoch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadScope EnterRead()
    {
        var slot = t_lease?.Slot ?? RegisterThread();
        if (slot.Epoch != 0)
        {
            return default;
        }

        Volatile.Write(ref slot.Epoch, Volatile.Read(ref s_epoch));
        return new ReadScope(slot);
    }

    /// <summary>Hands over blocks already unlinked from every structure a reader could start from; they are freed once
    /// no reader can hold them. The blocks are copied, so the caller may reuse its buffer at once.</summary>
    public static void Retire(ReadOnlySpan<RetiredBlock> blocks, long bytes)
    {
        lock (s_lock)
        {
            s_open.AddRange(blocks);
            s_openBytes += bytes;
            if (s_open.Count >= SealCount || s_openBytes >= SealBytes)
            {
                Seal();
            }
        }
    }

    /// <summary>Seals what was retired, even a small batch: used when a table is dropped, so its memory goes back now.</summary>
    public static void Flush()
    {
        lock (s_lock)
        {
            if (s_open.Count > 0)
            {
                Seal();
            }
        }
    }

    private static void Seal()
    {
        var stamp = Interlocked.Increment(ref s_epoch);

        // After this barrier every reader's slot write is visible, or that reader started after it and after the unlinks.
        Interlocked.MemoryBarrierProcessWide();
        s_sealed.Enqueue(new SealedBatch(stamp, s_open));
        s_open = s_spareLists.TryPop(out var spare) ? spare : new List<RetiredBlock>(SealCount);
        s_openBytes = 0;
        FreeSafeBatches();
    }

    /// <summary>Frees the batches no reader can hold: those stamped no later than every epoch a reader is in. Caller
    /// holds the lock.</summary>
    private static void FreeSafeBatches()
    {
        var oldestReader = long.MaxValue;
        foreach (var slot in Volatile.Read(ref s_slots))
        {
            var epoch = Volatile.Read(ref slot.Epoch);
            if (epoch != 0 && epoch < oldestReader)
            {
                oldestReader = epoch;
            }
        }

        while (s_sealed.TryPeek(out var batch) && batch.Stamp <= oldestReader)
        {
            s_sealed.Dequeue();
            foreach (var block in batch.Blocks)
            {
                block.Free();
            }

            batch.Blocks.Clear();
            if (s_spareLists.Count < MaxSpareLists)
            {
                s_spareLists.Push(batch.Blocks);
            }
        }

        if (s_sealed.Count > 0)
        {
            s_retry.Change(1, Timeout.Infinite);
        }
    }

    private static void RetryHeldBatches()
    {
        lock (s_lock)
        {
            FreeSafeBatches();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReaderSlot RegisterThread()
    {
        lock (s_lock)
        {
            // A slot whose thread ended is free again: its lease was finalized with the thread's statics.
            var slot = Array.Find(s_slots, static s => !s.InUse);
            if (slot is null)
            {
                slot = new ReaderSlot();
                Volatile.Write(ref s_slots, [.. s_slots, slot]);
            }

            slot.InUse = true;
            t_lease = new SlotLease(slot);
            return slot;
        }
    }

    /// <summary>A thread's announcement: the epoch it read in, or 0 while it reads nothing. Padded to keep other
    /// threads' slots off its cache line.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal sealed class ReaderSlot
    {
        public long Epoch;

        public volatile bool InUse;

#pragma warning disable CS0169, IDE0051 // Padding only: one slot per cache line.
        private readonly long _p1, _p2, _p3, _p4, _p5, _p6, _p7;
#pragma warning restore CS0169, IDE0051
    }

    /// <summary>A read in progress; <see cref="Exit"/> ends it (nothing, for a nested read).</summary>
    internal readonly struct ReadScope(ReaderSlot? slot)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Exit()
        {
            if (slot is not null)
            {
                Volatile.Write(ref slot.Epoch, 0);
            }
        }
    }

    /// <summary>Holds a thread's slot for as long as the thread lives: the thread's statics are its only reference, so
    /// the finalizer runs once the thread has ended, and its slot (idle, since a thread ends outside any read) is
    /// reused.</summary>
    private sealed class SlotLease(ReaderSlot slot)
    {
        ~SlotLease() => Slot.InUse = false;

        public ReaderSlot Slot { get; } = slot;
    }

    private readonly record struct SealedBatch(long Stamp, List<RetiredBlock> Blocks);
}
