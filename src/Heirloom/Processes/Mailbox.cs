namespace Heirloom.Processes;

/// <summary>
/// A process's incoming messages: a multi-producer, single-consumer linked queue (Vyukov's design).
/// Enqueue allocates one node and never blocks; only the owning process dequeues.
/// </summary>
/// <remarks>The mailbox is itself the queue's first stub node, so an empty mailbox costs one object.</remarks>
internal sealed class Mailbox : MessageNode
{
    // _head is a consumed stub whose Next is the oldest message; _tail is the newest node.
    private MessageNode _head;
    private MessageNode _tail;

    public Mailbox() => _head = _tail = this;

    /// <summary>Appends a message. Ends with a full fence so that a reader of the process state after
    /// this call cannot miss the message (the consumer parks with the mirror-image fence).</summary>
    public void Enqueue(object message)
    {
        var node = new MessageNode { Message = message };
        var previous = Interlocked.Exchange(ref _tail, node);
        Interlocked.Exchange(ref previous.Next, node);
    }

    /// <summary>Whether no message is visible to the consumer. A message being linked in is not yet visible,
    /// and its producer will see the consumer's parked state and wake it.</summary>
    public bool IsEmpty => Volatile.Read(ref _head.Next) is null;

    /// <summary>Takes the oldest message. Consumer only.</summary>
    public bool TryDequeue(out object message)
    {
        var next = Volatile.Read(ref _head.Next);
        if (next is null)
        {
            message = null!;
            return false;
        }

        message = next.Message!;
        next.Message = null;
        _head = next;
        return true;
    }

    /// <summary>Counts the messages visible now, for introspection; safe from any thread.</summary>
    public int Count()
    {
        var count = 0;
        for (var node = Volatile.Read(ref _head).Next; node is not null; node = Volatile.Read(ref node.Next))
        {
            count++;
        }

        return count;
    }
}
