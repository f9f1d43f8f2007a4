namespace Heirloom.Processes;

/// <summary>One message in a <see cref="Mailbox"/>'s queue, or, once taken, the queue's stub (whose message is null).</summary>
internal sealed class MessageNode
{
    /// <summary>The message; null once taken, and in a stub.</summary>
    public object? Message;

    /// <summary>The next newer node; null at the tail.</summary>
    public MessageNode? Next;
}
