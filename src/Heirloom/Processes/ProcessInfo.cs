namespace Heirloom.Processes;

/// <summary>A snapshot of one process, as <c>erlang:process_info/1</c> gives it.</summary>
/// <param name="Pid">The process.</param>
/// <param name="Status">What it was doing.</param>
/// <param name="RegisteredName">Its registered name, if any.</param>
/// <param name="Links">The processes it is linked to.</param>
/// <param name="Monitors">The processes it monitors.</param>
/// <param name="MonitoredBy">The processes that monitor it.</param>
/// <param name="MessageQueueLength">Messages waiting in its mailbox, including those a selective receive skipped.</param>
/// <param name="TrapExit">Whether it traps exit signals.</param>
/// <param name="Parent">The process that spawned it; <see cref="Pid.None"/> when spawned from outside any process.</param>
/// <param name="Behaviour">What it runs, as observer's "current function" shows it: a GenServer's type, or
/// <c>Supervisor</c> and <c>TableManager</c> for those; null for a plain process.</param>
/// <param name="MessagesIn">Messages it has taken from its mailbox.</param>
/// <param name="MessagesOut">Messages it has sent.</param>
public sealed record ProcessInfo(
    Pid Pid,
    ProcessStatus Status,
    string? RegisteredName,
    IReadOnlyList<Pid> Links,
    IReadOnlyList<Pid> Monitors,
    IReadOnlyList<Pid> MonitoredBy,
    int MessageQueueLength,
    bool TrapExit,
    Pid Parent,
    Type? Behaviour = null,
    long MessagesIn = 0,
    long MessagesOut = 0);
