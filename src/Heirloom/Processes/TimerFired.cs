namespace Heirloom.Processes;

/// <summary>
/// The message a timer started by <see cref="ProcessContext.StartTimer(TimeSpan, object)"/> delivers when it fires
/// (Erlang's <c>{timeout, TimerRef, Msg}</c>): the timer it came from, so a process can tell one timer from another and
/// ignore one it meant to cancel, and the message the timer was started with.
/// </summary>
/// <param name="Timer">The timer that fired.</param>
/// <param name="Message">The message given when the timer was started.</param>
public sealed record TimerFired(TimerRef Timer, object Message);
