using Heirloom.Processes;

namespace Heirloom.Behaviours;

/// <summary>A <see cref="GenServer"/> did not start: its <see cref="GenServer.InitAsync"/> threw or returned
/// <see cref="InitResult.Stop(ExitReason)"/>, or it did not finish in time.</summary>
public sealed class GenServerStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">The reason the server gave, or the exception it threw.</param>
    /// <param name="message">What failed.</param>
    public GenServerStartException(ExitReason reason, string message)
        : base(message, reason.Exception)
    {
        Reason = reason;
    }

    /// <summary>The reason the start failed with.</summary>
    public ExitReason Reason { get; }
}
