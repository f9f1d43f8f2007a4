namespace Heirloom.Behaviours;

/// <summary>What a caller giving up on a call learns from <see cref="CallFrom.TryGiveUp"/>.</summary>
internal enum CallGiveUp
{
    /// <summary>The server had not started the call, and never will: its handler does not run.</summary>
    NotStarted,

    /// <summary>The server's handler had begun; a reply it sends later is dropped.</summary>
    Started,

    /// <summary>Too late to give up: a reply was claimed and is on its way, or another give-up came first.</summary>
    TooLate,
}
