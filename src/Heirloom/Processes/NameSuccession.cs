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
            holder = LiveHolderOrAwait(name);
            if (holder is null && _awaited.TryGetValue(name, out var waiting))
            {
                waiting.RemoveAll(static m => m.IsSettled);
                waiting.Add(message);
                return;
            }
        }

        if (holder is null)
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

    /// <summary>The live holder of <paramref name="name"/>; or null, with <paramref name="awaited"/> saying whether a
    /// successor is awaited. Decided at one instant: a holder crashing while handing its messages on awaits its name
    /// before freeing it, and a successor registers it before ending the wait, so a name is always held or awaited
    /// across a restart, which three separate looks could miss.</summary>
    public Process? FindHolder(string name, out bool awaited)
    {
        lock (_lock)
        {
            var holder = LiveHolderOrAwait(name);
            awaited = holder is null && _awaited.ContainsKey(name);
            return holder;
        }
    }

    // Caller holds _lock. The holder is looked at once: one that dies between two looks would be taken for neither
    // alive nor awaited.
    private Process? LiveHolderOrAwait(string name)
    {
        var holder = node.Names.GetValueOrDefault(name);
        if (holder is null)
        {
            return null;
        }

        if (holder.ExitedWith is not { } reason)
        {
            return holder;
        }

        if (holder.HandsOnMessages && !reason.IsNormalOrShutdown)
        {
            // The holder is exiting and has not yet freed its name (it awaits the name just before): a successor is
            // coming.
            _awaited.TryAdd(name, []);
        }

        return null;
    }

    /// <summary>A process registered <paramref name="name"/>: the messages waiting for it are delivered, oldest first.
    /// Runs after the name is visible, so a hand-on either sees the holder or left its message here.</summary>
    public void OnRegistered(string name, Process holder)
    {
        List<IHandedOnMessage>? waiting;
        lock (_lock)
        {
            // A holder that crashed since it registered (killed from outside) has awaited the name again, or will
            // find it still awaited: the messages wait on for the holder after it.
            if (holder.ExitedWith is { } reason && holder.HandsOnMessages && !reason.IsNormalOrShutdown)
            {
                return;
            }

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
