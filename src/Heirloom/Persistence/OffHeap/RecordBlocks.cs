namespace Heirloom.Persistence;

/// <summary>
/// The blocks an off-heap hash table's loaded records were carved from (<see cref="RecordCarver"/>): one allocation
/// per eight megabytes instead of one per record, its pages faulted in ahead by another thread. A carved record is never
/// freed alone. Its block counts the records still linked in the table and goes to the epoch reclaimer once none is,
/// after the last one's unlink, so a reader still in any of its records keeps the block. A block whose records were
/// mostly replaced would hold its memory for the few left, so when fewer than a quarter are left its table copies them
/// out (<see cref="OffHeapHashStore{TKey, TValue}"/>'s compaction) and the block goes.
/// </summary>
internal sealed unsafe class RecordBlocks
{
    private readonly Lock _lock = new();
    private readonly List<nint> _blocks = [];
    private long _bytes;

    /// <summary>The bytes of every block the table holds, used or not: what it costs, whatever is carved in it.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Takes a new block, open for carving, into the table's memory.</summary>
    public void Add(RecordBlock* block)
    {
        lock (_lock)
        {
            _blocks.Add((nint)block);
            _bytes += RecordBlock.Size;
        }
    }

    /// <summary>Ends carving from a block: from now on its count of live records is exact.</summary>
    public void Close(RecordBlock* block)
    {
        if (Interlocked.Add(ref block->Live, block->Carved - RecordBlock.OpenBias) == 0)
        {
            Release(block);
        }
    }

    /// <summary>A carved record left the table (unlinked, or never linked). Returns whether its block should now be
    /// compacted (true once per block). Caller holds the record's stripe, or loads the table.</summary>
    /// <remarks>Writers of other stripes unlink the block's other records meanwhile, and the one that unlinks its last
    /// retires it, which may free it at once: this runs as a reader of the reclaimer's epoch, so the block stays
    /// allocated until it returns.</remarks>
    public bool Unlinked(NativeRecord* record)
    {
        var scope = EpochReclaimer.EnterRead();
        try
        {
            record->Carving = NativeRecord.UnlinkedInBlock;
            var block = RecordBlock.Of(record);
            var live = Interlocked.Decrement(ref block->Live);
            if (live == 0)
            {
                Release(block);
                return false;
            }

            return live < block->Carved / 4 && Interlocked.CompareExchange(ref block->CompactionQueued, 1, 0) == 0;
        }
        finally
        {
            scope.Exit();
        }
    }

    /// <summary>Lets a compaction be queued again (it was asked for while the table was loading).</summary>
    public static void Requeue(RecordBlock* block) => Volatile.Write(ref block->CompactionQueued, 0);

    /// <summary>Keeps a block from being freed while a compaction reads it; false when it is gone already.</summary>
    public bool TryPin(RecordBlock* block)
    {
        lock (_lock)
        {
            if (!_blocks.Contains((nint)block))
            {
                return false;
            }

            block->Pins++;
            return true;
        }
    }

    public void Unpin(RecordBlock* block)
    {
        lock (_lock)
        {
            block->Pins--;
            if (block->Pins == 0 && (block->Cleared != 0 || Volatile.Read(ref block->Live) == 0))
            {
                RetireLocked(block);
            }
        }
    }

    /// <summary>Hands every block to the reclaimer with the chains of a cleared table, but a block a compaction reads,
    /// which goes when that ends.</summary>
    public void RetireAll()
    {
        lock (_lock)
        {
            foreach (var block in _blocks.ToArray())
            {
                var header = (RecordBlock*)block;
                if (header->Pins > 0)
                {
                    header->Cleared = 1;
                }
                else
                {
                    RetireLocked(header);
                }
            }
        }
    }

    /// <summary>Frees every block at once: the table is unreachable, so no reader or compaction is in them.</summary>
    public void FreeAll()
    {
        foreach (var block in _blocks)
        {
            RecordBlock.Free((RecordBlock*)block);
        }

        _blocks.Clear();
    }

    private void Release(RecordBlock* block)
    {
        lock (_lock)
        {
            // Retired already (by a compaction that ended meanwhile): its header is not to be read.
            if (_blocks.Contains((nint)block) && block->Pins == 0)
            {
                RetireLocked(block);
            }
        }
    }

    private void RetireLocked(RecordBlock* block)
    {
        _blocks.Remove((nint)block);
        _bytes -= RecordBlock.Size;
        EpochReclaimer.Retire([RetiredBlock.OfRecordBlock(block)], RecordBlock.Size);
    }
}
