namespace Heirloom.Routing;

/// <summary>The owner's verdict on a routed call.</summary>
internal enum ReplyStatus : byte
{
    /// <summary>The worker replied (or the cast was delivered): codec name and reply follow.</summary>
    Ok = 0,

    /// <summary>The node does not own the table now; the request was not delivered (a message follows).</summary>
    NotOwner = 1,

    /// <summary>The call's budget ran out before or while the worker had it: started flag and message follow.</summary>
    Timeout = 2,

    /// <summary>The caller cancelled: started flag and message follow.</summary>
    Canceled = 3,

    /// <summary>The worker exited or failed: started flag and message follow.</summary>
    Failed = 4,

    /// <summary>The request or reply has no codec: started flag and message follow.</summary>
    NoCodec = 5,

    /// <summary>A read named other key or value types or codecs than the table's: started flag and the table's types
    /// follow.</summary>
    TypeMismatch = 6,
}
