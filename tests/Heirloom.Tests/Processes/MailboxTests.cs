using System.Reflection;
using Heirloom.Processes;

namespace Heirloom.Tests.Processes;

/// <summary>The mailbox queue on its own: order, emptiness, and the links a taken message leaves behind.</summary>
public sealed class MailboxTests
{
    [Fact]
    public void Messages_come_out_in_order_and_the_node_a_taken_message_leaves_lets_go_of_the_newer_ones()
    {
        var mailbox = new Mailbox();
        foreach (var message in new[] { "a", "b", "c" })
        {
            mailbox.Enqueue(message);
        }

        Assert.True(mailbox.TryDequeue(out var first));
        var stub = Head(mailbox);
        Assert.True(mailbox.TryDequeue(out var second));

        // Still linked, a dead stub that a collection promoted would keep every later message's node alive.
        Assert.Null(stub.Next);
        Assert.Equal(1, mailbox.Count());
        Assert.True(mailbox.TryDequeue(out var third));
        Assert.Equal(("a", "b", "c"), (first, second, third));
        Assert.True(mailbox.IsEmpty);
        Assert.False(mailbox.TryDequeue(out _));

        mailbox.Enqueue("d");
        Assert.True(mailbox.TryDequeue(out var fourth));
        Assert.Equal("d", fourth);
    }

    private static MessageNode Head(Mailbox mailbox) =>
        (MessageNode)typeof(Mailbox).GetField("_head", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(mailbox)!;
}
