namespace Heirloom.Behaviours;

/// <summary>
/// What becomes of the calls queued for a <see cref="GenServer"/> (sent to it, not yet started) when it crashes: an
/// exception from a callback, an exit with a reason other than normal or shutdown, or a kill. The call being handled
/// when it crashes always fails with the crash, whichever is chosen: its handler had begun.
/// </summary>
public enum QueuedCallsOnCrash
{
    /// <summary>
    /// OTP's gen_server: every queued call fails with the server's exit reason, as not started
    /// (<see cref="CallFailedException.HandlerStarted"/> false). The default for a plain <see cref="GenServer"/>.
    /// </summary>
    Fail,

    /// <summary>
    /// Calls made by the server's registered name with a timeout (not infinite) go to the next process registered
    /// under that name (the server's supervisor restarting it), in their order, and are served there; so do such calls
    /// made while the name awaits its successor. Each keeps its deadline: one the successor does not reach in time
    /// fails as not started. Calls by pid, and calls with an infinite timeout, fail as with <see cref="Fail"/>, and so
    /// do all queued calls when the server stops with normal or shutdown (no successor is coming). The default for a
    /// <see cref="Management.TableWorker{TKey, TValue}"/>, whose successor gets the same table.
    /// </summary>
    HandToSuccessor,
}
