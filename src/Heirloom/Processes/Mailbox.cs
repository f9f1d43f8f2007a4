namespace Heirloom.Processes;

/// <summary>
/// A process's incoming messages: a multi-producer, single-consumer linked queue (Vyukov's design). Enqueue allocates
/// one node and never blocks; only the owning process dequeues.
/// </summary>
/// <remarks>
/// A mutable struct that lives in its process's field and is never copied, so an empty mailbox costs no object: the
/// queue's initial stub is the <see cref="_first"/> slot, and afterwards the last consumed node is the stub.
/// </remarks>
internal struct Mailbox
{
    // _head is the consumed node whose Next is the oldest message, null while the stub is the _first slot; _tail is
    // the newest node, null until the first message. Only the producer of the first message writes _first, and the
    // consumer clears it when it takes that message, so the messages taken are not kept alive through it.
    private MessageNode? _head;
    private MessageNode? _tail;
    private MessageNode? _first;

    /// <summary>Appends a message. Ends with a full fence so that a reader of the process state after
    /// this call cannot miss the message (the consumer parks with the mirror-image fence).</summary>
    public void Enqueue(object message)
    {
        var node = new MessageNode { Message = message };
        var previous = Interlocked.Exchange(ref _tail, node);
        if (previous is null)
        {
            Interlocked.Exchange(ref _first, node);
        }
        else
        {
            Interlocked.Exchange(ref previous.Next, node);
        }
    }

    /// <summary>Whether no message is visible to the consumer. A message being linked in is not yet visible,
    /// and its producer will see the consumer's parked state and wake it.</summary>
    public readonly bool IsEmpty => Oldest is null;

    // The oldest message's node. The consumer writes _head before clearing _first, and readers read _first before
    // _head, so a reader on another thread that finds _first cleared also finds _head set.
    private readonly MessageNode? Oldest
    {
        get
        {
            var first = Volatile.Read(in _first);
            return Volatile.Read(in _head) is { } head ? Volatile.Read(in head.Next) : first;
        }
    }

    /// <summary>Takes the oldest message. Consumer only.</summary>
    public bool TryDequeue(out object message)
    {
        var next = Oldest;
        if (next is null)
        {
            message = null!;
            return false;
        }

        message = next.Message!;
        next.Message = null;
        var consumed = _head;
        Volatile.Write(ref _head, next);
        if (consumed is not null)
        {
            // Unlinks the node this one replaces as the stub. A dead node that a collection found still in use (and
            // promoted) would otherwise keep every later node alive through its Next, so that each collection promoted
            // the whole stream of messages since the last (nepotism). No producer writes it again: it is not the tail.
            consumed.Next = null;
        }
        else if (_first is not null)
        {
            Volatile.Write(ref _first, null);
        }

        return true;
    }

    /// <summary>Counts the messages visible now, for introspection; safe from any thread (one that reads as the consumer
    /// takes a message may count fewer, as the consumed node is unlinked).</summary>
    public readonly int Count()
    {
        var count = 0;
        for (var node = Oldest; node is not null; node = Volatile.Read(in node.Next))
        {
            count++;
        }

        return count;
    }
}
