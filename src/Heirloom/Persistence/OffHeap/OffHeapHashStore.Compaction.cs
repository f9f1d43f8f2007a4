namespace Heirloom.Persistence;

/// <summary>Compaction of the blocks loaded records were carved from (see <see cref="RecordBlocks"/>): once fewer than
/// a quarter of a block's records are still linked, each of them is copied into a record of its own and swapped in for
/// it under its stripe, as an update that changes the value's length would, and the block is freed when the last one is
/// unlinked.</summary>
internal sealed unsafe partial class OffHeapHashStore<TKey, TValue>
{
    // Set while a snapshot loads: the loading links records without the stripes' locks, so nothing else may move them.
    private volatile bool _loading;

    private void QueueCompaction(RecordBlock* block)
    {
        if (_loading)
        {
            RecordBlocks.Requeue(block);
            return;
        }

        _scheduler.Queue(static state => state.Store.Compact((RecordBlock*)state.Block), (Store: this, Block: (nint)block), preferLocal: false);
    }

    private void Compact(RecordBlock* block)
    {
        if (!_memory.Blocks.TryPin(block))
        {
            return;
        }

        try
        {
            var end = (NativeRecord*)((byte*)block + block->Used);
            for (var record = RecordBlock.First(block); record < end; record = RecordBlock.After(record))
            {
                if (Volatile.Read(ref record->Carving) == NativeRecord.InBlock)
                {
                    MoveOut(record);
                }
            }
        }
        catch (OutOfMemoryException)
        {
            // The records left stay in the block, which is correct, only bigger; a later unlink asks again.
            RecordBlocks.Requeue(block);
        }
        finally
        {
            _memory.Blocks.Unpin(block);
        }
    }

    /// <summary>Replaces a carved record still linked by a copy of its own. A record no longer in the table (unlinked
    /// meanwhile, or the table cleared) is left alone.</summary>
    private void MoveOut(NativeRecord* record)
    {
        var hash = Reverse(record->Order);
        var hold = LockBucket(hash);
        try
        {
            if (record->Carving != NativeRecord.InBlock)
            {
                return;
            }

            var link = Seek(hold.Buckets, hash, NativeRecord.KeyOf(record), out var found);
            while (found && *link != record && *link is not null && NativeRecord.SameKey(*link, record))
            {
                link = &(*link)->Next;
            }

            if (found && *link == record)
            {
                Swap(link, NativeRecord.Create(record->Order, NativeRecord.KeyOf(record), NativeRecord.ValueOf(record)), hold.Stripe);
            }
        }
        finally
        {
            Unlock(hold);
        }
    }
}
