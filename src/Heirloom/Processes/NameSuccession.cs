namespace Heirloom.Processes;

/// <summary>
/// The names whose holder crashed while handing its messages on (<see cref="Process.HandsOnMessages"/>): until a
/// process registers the name again (its supervisor restarting it), messages handed on to the name wait here, then go
/// to the new holder, oldest first. A name whose holder exited normally or was shut down is not awaited: its messages
/// have no successor. A waiting message leaves when it is settled (its caller's deadline passed, say), at the latest
/// when the next message is added.
/// </summary>
internal sealed class NameSuccession(Node node)
{
    // Guards _awaited, and orders a hand-on against a registration (see HandOn and OnRegistered).
    private readonly object _lock = new();
    private readonly Dictionary<string, List<IHandedOnMessage>> _awaited = new(StringComparer.Ordinal);

    /// <summary>Whether messages to <paramref name="name"/> wait for a successor now.</summary>
    public bool IsAwaited(string name)
    {
        lock (_lock)
        {
            return _awaited.ContainsKey(name);
        }
    }

    /// <summary>The holder of <paramref name="name"/> is exiting with a crash and hands its messages on: the name is
    /// awaited from before it is freed, so that no message sent to it in between finds it neither held nor awaited.</summary>
    public void Await(string name)
    {
        lock (_lock)
        {
            _awaited.TryAdd(name, []);
        }
    }

    /// <summary>Gives <paramref name="message"/> to the live holder of <paramref name="name"/>, or keeps it until the
    /// name is registered when it is awaited; otherwise tells the message it has no successor.</summary>
    public void HandOn(string name, IHandedOnMessage message)
    {
        Process? holder;
        lock (_lock)
        {
            holder = node.Names.GetValueOrDefault(name);
            if (holder is { IsAlive: false } && holder.HandsOnMessages && holder.ExitedWith is { IsNormalOrShutdown: false })
            {
                // The holder is exiting and has not yet freed its name (it awaits the name just before): a successor is
                // coming.
                _awaited.TryAdd(name, []);
            }

            if (holder is not { IsAlive: true } && _awaited.TryGetValue(name, out var waiting))
            {
                waiting.RemoveAll(static m => m.IsSettled);
                waiting.Add(message);
                return;
            }
        }

        if (holder is not { IsAlive: true })
        {
            message.NoSuccessor();
        }
        else if (!holder.TryDeliver(message))
        {
            // The holder died since: now it is either awaited again or gone for good. (One that dies while or just
            // after the message is added hands it on from its mailbox.)
            HandOn(name, message);
        }
    }

    /// <summary>A process registered <paramref name="name"/>: the messages waiting for it are delivered, oldest first.
    /// Runs after the name is visible, so a hand-on either sees the holder or left its message here.</summary>
    public void OnRegistered(string name, Process holder)
    {
        List<IHandedOnMessage>? waiting;
        lock (_lock)
        {
            if (!_awaited.Remove(name, out waiting))
            {
                return;
            }
        }

        foreach (var message in waiting)
        {
            if (!message.IsSettled && !holder.TryDeliver(message))
            {
                HandOn(name, message);
            }
        }
    }
}
