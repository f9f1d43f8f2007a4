namespace Heirloom.Routing;

/// <summary>What a frame of the node-to-node protocol carries.</summary>
internal enum FrameKind : byte
{
    /// <summary>Listener to connector, first: a random nonce to authenticate with.</summary>
    Challenge = 1,

    /// <summary>Connector to listener: the HMAC of the nonce under the shared secret (empty without one).</summary>
    Hello = 2,

    /// <summary>Listener to connector: authenticated; calls may follow.</summary>
    Welcome = 3,

    /// <summary>Listener to connector: not authenticated (a message), then the connection closes.</summary>
    Refused = 4,

    /// <summary>A call to a table's worker: table, remaining budget, codec name, request.</summary>
    Call = 5,

    /// <summary>A cast to a table's worker, acknowledged once delivered: as a call.</summary>
    Cast = 6,

    /// <summary>The caller gave up on a call (its token fired).</summary>
    Cancel = 7,

    /// <summary>The verdict on a call or cast: a <see cref="ReplyStatus"/> and its details.</summary>
    Reply = 8,

    /// <summary>Listener to connector, when the listener stops: it reads nothing more, and no call above the frame's id
    /// (ids grow with each call) was read, so none of them was handled; the calls at or below it are answered before
    /// the connection closes.</summary>
    Goodbye = 9,

    /// <summary>A read of a key of a table the receiver owns, served from its table (the worker is not called): table,
    /// key type, value type, key codec, value codec (names), key bytes. A read has no effect, so it carries no budget:
    /// the caller's deadline bounds its waiting, and the owner answers at once.</summary>
    Lookup = 10,
}
