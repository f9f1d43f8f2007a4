using System.Numerics;
using System.Runtime.InteropServices;

namespace Heirloom.Processes;

/// <summary>
/// A node's live processes, for counting and listing. Spawning and exiting are on every process's path, so the
/// registry costs no allocation and no hashing: each process is a node of an intrusive doubly linked list, one list per
/// stripe, and a process joins the stripe of the processor that spawns it, so the threads of a busy node rarely share
/// a stripe's lock or its cache line.
/// </summary>
internal sealed class ProcessRegistry
{
    private readonly Stripe[] _stripes;
    private readonly int _mask;

    public ProcessRegistry()
    {
        var count = (int)uint.Min(64, BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount * 2));
        _stripes = new Stripe[count];
        _mask = count - 1;
        for (var i = 0; i < count; i++)
        {
            // Held for a few pointer writes only, so a waiter spins rather than blocks; no owner tracking.
            _stripes[i].Gate = new SpinLock(enableThreadOwnerTracking: false);
        }
    }

    /// <summary>How many processes are registered now.</summary>
    public int Count
    {
        get
        {
            var total = 0;
            for (var i = 0; i < _stripes.Length; i++)
            {
                total += Volatile.Read(ref _stripes[i].Count);
            }

            return total;
        }
    }

    /// <summary>Registers a process that is not registered.</summary>
    public void Add(Process process)
    {
        var index = Thread.GetCurrentProcessorId() & _mask;
        ref var stripe = ref _stripes[index];
        process.RegistryStripe = index;
        var taken = false;
        try
        {
            stripe.Gate.Enter(ref taken);
            process.RegistryNext = stripe.Head;
            if (stripe.Head is { } head)
            {
                head.RegistryPrevious = process;
            }

            stripe.Head = process;
            stripe.Count++;
        }
        finally
        {
            if (taken)
            {
                stripe.Gate.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>Removes a registered process; each process is removed once, when it exits.</summary>
    public void Remove(Process process)
    {
        ref var stripe = ref _stripes[process.RegistryStripe];
        var taken = false;
        try
        {
            stripe.Gate.Enter(ref taken);
            var (previous, next) = (process.RegistryPrevious, process.RegistryNext);
            if (previous is null)
            {
                stripe.Head = next;
            }
            else
            {
                previous.RegistryNext = next;
            }

            if (next is not null)
            {
                next.RegistryPrevious = previous;
            }

            // An exited process keeps no reference into the list, so it keeps no live one from being collected.
            process.RegistryPrevious = process.RegistryNext = null;
            stripe.Count--;
        }
        finally
        {
            if (taken)
            {
                stripe.Gate.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>The processes registered now, stripe by stripe (each stripe read under its lock), in no order.</summary>
    public List<Process> Snapshot()
    {
        var processes = new List<Process>(Count);
        for (var i = 0; i < _stripes.Length; i++)
        {
            ref var stripe = ref _stripes[i];
            var taken = false;
            try
            {
                stripe.Gate.Enter(ref taken);
                for (var process = stripe.Head; process is not null; process = process.RegistryNext)
                {
                    processes.Add(process);
                }
            }
            finally
            {
                if (taken)
                {
                    stripe.Gate.Exit(useMemoryBarrier: false);
                }
            }
        }

        return processes;
    }

    /// <summary>One list, its count and its lock, alone in two cache lines: stripes used by different processors
    /// never share a line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Stripe
    {
        [FieldOffset(64)]
        public Process? Head;

        [FieldOffset(72)]
        public SpinLock Gate;

        [FieldOffset(76)]
        public int Count;
    }
}
