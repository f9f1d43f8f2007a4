namespace Heirloom.Processes;

/// <summary>
/// The identity of a process, printable like Erlang's <c>&lt;0.42.0&gt;</c>. A pid is never reused while its
/// node lives: two pids are equal only when they name the same process, even after it has exited.
/// </summary>
/// <remarks>
/// A pid holds a reference to its process so that sending costs no lookup. <see cref="None"/> (the default value)
/// names no process; it is what the API returns for "no process" everywhere (no registered process, no owner, no
/// heir, no parent), and sending to it throws.
/// </remarks>
[System.Diagnostics.DebuggerDisplay("{ToString(),nq}")]
public readonly struct Pid : IEquatable<Pid>
{
    /// <summary>The pid that names no process (<c>default(Pid)</c>), as Erlang's <c>undefined</c> stands for one.</summary>
    public static Pid None => default;

    internal Pid(Process process) => Process = process;

    internal Process? Process { get; }

    /// <summary>Whether this value is <see cref="None"/>.</summary>
    public bool IsNone => Process is null;

    /// <summary>The node the process belongs to.</summary>
    /// <exception cref="InvalidOperationException">The pid is <see cref="None"/>.</exception>
    public Node Node => Resolve().Node;

    /// <summary>Whether the process is still alive. A dead process never comes back to life.</summary>
    public bool IsAlive => Process is { IsAlive: true };

    /// <summary>Sends a message. Never blocks, and never throws because the process is dead: the message is dropped. A
    /// process that was killed sends nothing from then on (its code runs until its next receive), as in OTP, where a
    /// dead process sends no message.</summary>
    /// <param name="message">The message; may not be null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The pid is <see cref="None"/>.</exception>
    public void Send(object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var target = Resolve();
        if (Processes.Process.CurrentProcess is { } sender)
        {
            if (!sender.IsAlive)
            {
                return;
            }

            sender.CountSent();
        }

        target.Deliver(message);
    }

    internal Process Resolve() =>
        Process ?? throw new InvalidOperationException("This pid is Pid.None and names no process; check IsNone before using a pid that may be none.");

    /// <inheritdoc />
    public bool Equals(Pid other) => ReferenceEquals(Process, other.Process);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Pid other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Process is null ? 0 : Process.Serial.GetHashCode();

    /// <summary>Prints the pid as Erlang does: <c>&lt;node.serial.0&gt;</c>, or <c>&lt;none&gt;</c> for the default value.</summary>
    public override string ToString() => Process is null ? "<none>" : $"<{Process.Node.Id}.{Process.Serial}.0>";

    /// <summary>Whether two pids name the same process.</summary>
    public static bool operator ==(Pid left, Pid right) => left.Equals(right);

    /// <summary>Whether two pids name different processes.</summary>
    public static bool operator !=(Pid left, Pid right) => !left.Equals(right);
}
