namespace Heirloom.Behaviours;

/// <summary>Why a supervisor refused a request (OTP's <c>{error, ...}</c> returns).</summary>
public enum SupervisorError
{
    /// <summary>No child has that id (<c>not_found</c>).</summary>
    NotFound,

    /// <summary>A child with that id is running (<c>already_started</c> on start, <c>running</c> on restart or delete).</summary>
    Running,

    /// <summary>A child spec with that id exists but is not running (<c>already_present</c>).</summary>
    AlreadyPresent,

    /// <summary>The child failed to start.</summary>
    StartFailed,

    /// <summary>The request does not apply to this strategy (for example a spec for SimpleOneForOne, or an argument for the others).</summary>
    WrongStrategy,

    /// <summary>The options or spec are invalid (duplicate ids, bad intensity, ...).</summary>
    InvalidSpec,
}
