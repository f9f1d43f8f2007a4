using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Heirloom.Persistence;

/// <summary>
/// Makes a loading table's records by carving them, one after another, from blocks that a thread of its own allocates
/// and faults in a couple of blocks ahead (<see cref="RecordBlock.Allocate"/>): on a machine where faulting fresh
/// memory in costs about as much as everything else loading does, that work leaves the loading thread. Used by the
/// loading thread only; disposed when loading ends, which closes the last block and frees the ones never used.
/// </summary>
internal sealed unsafe class RecordCarver : IDisposable
{
    // Blocks faulted in and waiting: enough that the loading thread never waits, few enough that little is wasted.
    private const int BlocksAhead = 2;

    // Bigger records get an allocation of their own: a block's unused end is then at most this, a tiny part of it.
    private const int LargestCarved = 4096;

    private readonly RecordBlocks _blocks;
    private readonly BlockingCollection<nint> _ready = new(BlocksAhead);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _allocator;
    private ExceptionDispatchInfo? _failure;
    private RecordBlock* _current;

    public RecordCarver(RecordBlocks blocks)
    {
        _blocks = blocks;
        _allocator = new Thread(AllocateAhead) { IsBackground = true, Name = "Heirloom table blocks" };
        _allocator.Start();
    }

    /// <summary>A record holding the key and the value, carved from the current block (or, when it is big, allocated
    /// alone).</summary>
    public NativeRecord* Create(uint order, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var size = RecordBlock.Rounded(NativeRecord.Size(key.Length, value.Length));
        if (size > LargestCarved)
        {
            return NativeRecord.Create(order, key, value);
        }

        if (_current is null || _current->Used + size > RecordBlock.Size)
        {
            NextBlock();
        }

        var record = NativeRecord.Fill((NativeRecord*)((byte*)_current + _current->Used), order, key, value, NativeRecord.InBlock);
        _current->Used += size;
        _current->Carved++;
        return record;
    }

    public void Dispose()
    {
        CloseCurrent();
        _stop.Cancel();
        _allocator.Join();
        while (_ready.TryTake(out var unused))
        {
            RecordBlock.Free((RecordBlock*)unused);
        }

        _ready.Dispose();
        _stop.Dispose();
    }

    private void NextBlock()
    {
        CloseCurrent();
        nint block;
        try
        {
            block = _ready.Take();
        }
        catch (InvalidOperationException) when (_failure is not null)
        {
            // The allocating thread stopped (out of memory): its exception is this load's.
            _failure.Throw();
            throw;
        }

        _current = (RecordBlock*)block;
        _blocks.Add(_current);
    }

    private void CloseCurrent()
    {
        if (_current is not null)
        {
            _blocks.Close(_current);
            _current = null;
        }
    }

    private void AllocateAhead()
    {
        try
        {
            while (true)
            {
                var block = RecordBlock.Allocate();
                try
                {
                    _ready.Add((nint)block, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    RecordBlock.Free(block);
                    return;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
            _ready.CompleteAdding();
        }
    }
}
